"""Load-aware assignment of service cells to satellites' beams, once per 15 s slot.

At each reconfiguration boundary (:mod:`skymesh.access.slots`) a global controller gives each
service cell beam time on the satellites in view (Tanveer et al., "Making Sense of
Constellations", CoNEXT 2023 companion: a global scheduler assigns satellites per 15 s slot;
an on-satellite scheduler shares frames). Here that is one linear program over the
(cell, satellite) pairs of :func:`skymesh.capacity.beams.beam_pairs`.

API (stable; other modules call it)
-----------------------------------
``assign_cells(pair_cell, pair_sat, pair_capacity_mbps, cell_demand_mbps, *, n_cells=None,
cell_weight=None, cell_beam_cap=None, beams_per_sat=16, sat_downlink_mbps=None,
backhaul=None, max_rounds=64, tol=1e-7, solver="highspy", initial_pairs=8) -> dict``

Inputs are plain arrays: pair p = (``pair_cell[p]``, ``pair_sat[p]``) with beam capacity
``pair_capacity_mbps[p]``; ``cell_demand_mbps`` (C,) (inf = elastic). ``backhaul`` (optional)
is ``{"route_of_pair": (P,) int (-1 = no allowed gateway), "R": (links x routes) sparse,
"capacity_mbps": (links,), "kind": (links,) str}`` -- e.g. from
:func:`skymesh.capacity.network.backhaul_network`. Result keys: see :func:`assign_cells`.
:func:`terminal_rates` spreads cell rates over terminals; :func:`carry_at_rate` answers "how
many terminals at rate r". ``solver="linprog"`` solves the same LPs with cold
``scipy.optimize.linprog`` calls (the reference and the benchmark's baseline); the tests also
check the first level against an independent per-terminal LP and exhaustive search.

Model
-----
Variables: beam time ``y_p`` in [0, 1] (fraction of the slot the pair's cell has one beam of
that satellite; fractional = beam hopping, :func:`skymesh.capacity.beams.hop_schedule`).
The pair carries ``k_p y_p`` Mbit/s (``k_p`` = beam capacity at the pair's geometry). A cell
gets ``x_c = sum_p k_p y_p``. Constraints, each one row kind in the result's ``binding``:

- ``beam-time``: ``sum_{p on s} y_p <= beams_per_sat`` per satellite (16, Pekhterev 2021);
- ``cell-beams``: ``sum_{p on c} y_p <= cell_beam_cap[c]`` (default 8 channels; the capacity
  pass passes min(8, terminals in the cell), see :mod:`skymesh.capacity.beams`);
  ``y_p <= 1``: one beam of a satellite on a cell;
- ``sat-downlink``: ``sum_{p on s} k_p y_p <= sat_downlink_mbps`` (if given);
- backhaul kinds (``isl``, ``gsl-feeder``, ``gateway``): ``sum_p R[l, route(p)] k_p y_p <=
  capacity_l``: the satellite's traffic follows its shortest path to a gateway the policy
  allows for the cell (:func:`skymesh.capacity.network.satellite_routes`, the routing
  layer's search; fixed within the slot);
- ``demand``: ``x_c <= demand_c``.

Fairness: **weighted max-min over cells** (lexicographic), with weight ``w_c`` = the cell's
demand when finite, so the quantity made max-min fair is the *fraction of each cell's demand
served*; an elastic (infinite-demand) cell weighs 1 (pass ``cell_weight`` to change, e.g. its
terminal or subscriber count). Computed by progressive filling with linear programs
(Bertsekas & Gallager,
"Data Networks", 2nd ed., §6.5.2, for the filling; the freezing test via duals follows D. Nace
et al., "Max-min fairness in multi-commodity flows", Computers & Operations Research 35(2),
2008): each round maximises the common level ``t`` with ``x_c >= w_c t`` for unfrozen cells and
``x_c >= w_c t_c`` for frozen ones (HiGHS through ``highspy``: one model, warm-started from
round to round, pairs added by column generation; sparse rows built from arrays). A cell
whose fairness row has a non-zero dual is tight in *every* optimal solution (complementary
slackness), so it is frozen at ``t``; cells whose demand caps ``t`` freeze at their demand.
Each round freezes at least one cell. After ``max_rounds``
rounds the remaining cells are frozen at the last level (reported as ``round-limit``). A last
LP maximises the total served rate with every cell held at its level, which hands any
remaining beam time to cells that can use it.

Consequence (tested): a cell in coverage with unmet demand always has every satellite in
view out of some resource (beam time, downlink or backhaul): no cell is left at 0 while a
satellite in view has usable spare beam time.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from skymesh.capacity.beams import BEAMS_PER_SAT, MAX_BEAMS_PER_CELL
from skymesh.errors import InputError, SkyMeshError

RESOURCE_KINDS = (
    "beam-time",
    "cell-beams",
    "sat-downlink",
    "isl",
    "gsl-feeder",
    "gateway",
    "demand",
)
"""Row kinds of the LP (``binding["kind"]``)."""

REASONS = (
    "demand",
    "beam-time",
    "cell-beams",
    "sat-downlink",
    "isl",
    "gsl-feeder",
    "gateway",
    "no-coverage",
    "no-route",
    "round-limit",
    "shared",
)
"""What stopped a cell's rate (``cell_reason``): its demand met, the kind of the binding
resource (largest dual among the resources its pairs use), no satellite in view, no allowed
gateway from any satellite in view, the round limit, or ``shared`` (bound through resources
of other cells only)."""

_SCALE = 1e-3  # Mbit/s -> Gbit/s inside the LP (keeps coefficients near 1)


def _as_int(a, name):
    a = np.asarray(a)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.mod(a, 1) == 0):
            raise InputError(f"{name} must hold whole numbers", field=name)
    return a.astype(np.int64).reshape(-1)


def _check(pair_cell, pair_sat, pair_capacity_mbps, cell_demand_mbps, n_cells):
    pc = _as_int(pair_cell, "pair_cell")
    ps = _as_int(pair_sat, "pair_sat")
    k = np.asarray(pair_capacity_mbps, dtype=float).reshape(-1)
    if not (pc.shape == ps.shape == k.shape):
        raise InputError(
            "pair_cell, pair_sat and pair_capacity_mbps must have the same length",
            field="pair_capacity_mbps",
        )
    d = np.asarray(cell_demand_mbps, dtype=float).reshape(-1)
    n_c = d.size if n_cells is None else int(n_cells)
    d = np.broadcast_to(d, (n_c,)).copy()
    if (d < 0).any() or np.isnan(d).any():
        raise InputError("cell demands must be >= 0 Mbit/s (inf allowed)", field="cell_demand_mbps")
    if pc.size and (pc.min() < 0 or pc.max() >= n_c):
        raise InputError(f"pair_cell must lie in 0..{n_c - 1}", field="pair_cell")
    if ps.size and ps.min() < 0:
        raise InputError("pair_sat must be >= 0", field="pair_sat")
    if (k < 0).any() or not np.isfinite(k).all():
        raise InputError(
            "beam capacities must be finite and >= 0 Mbit/s", field="pair_capacity_mbps"
        )
    return pc, ps, k, d, n_c


def _rows(index, values, n_rows, n_cols, cols=None):
    cols = np.arange(index.size) if cols is None else cols
    return sp.csr_matrix((values, (index, cols)), shape=(n_rows, n_cols))


def _resources(pc, ps, k, n_c, beams_per_sat, cell_beam_cap, sat_downlink_mbps, backhaul):
    """Resource rows (``A y <= cap``, scaled to Gbit/s) and cell-rate rows of the LP."""
    n_pairs = pc.size
    n_sat = int(ps.max()) + 1 if n_pairs else 0
    if sat_downlink_mbps is not None and np.ndim(sat_downlink_mbps):
        n_sat = max(n_sat, np.size(sat_downlink_mbps))
    if np.ndim(beams_per_sat):
        n_sat = max(n_sat, np.size(beams_per_sat))
    nb = np.broadcast_to(np.asarray(beams_per_sat, dtype=float), (n_sat,))
    if (nb < 0).any():
        raise InputError("beams_per_sat must be >= 0", field="beams_per_sat")
    ccap = np.broadcast_to(
        np.asarray(MAX_BEAMS_PER_CELL if cell_beam_cap is None else cell_beam_cap, dtype=float),
        (n_c,),
    )
    # usable pairs: positive capacity, a route to an allowed gateway
    usable = k > 0
    route = None
    if backhaul is not None:
        route = np.asarray(backhaul["route_of_pair"], dtype=np.int64).reshape(-1)
        if route.shape != (n_pairs,):
            raise InputError("backhaul route_of_pair needs one entry per pair", field="backhaul")
        usable &= route >= 0
    P = np.flatnonzero(usable)  # LP columns
    n_var = P.size
    cP, sP, kP = pc[P], ps[P], k[P] * _SCALE
    cols = np.arange(n_var)
    blocks, kinds, index, caps = [], [], [], []
    s_used, s_inv = np.unique(sP, return_inverse=True)
    blocks.append(_rows(s_inv, np.ones(n_var), s_used.size, n_var))
    kinds.append(np.full(s_used.size, 0))
    index.append(s_used)
    caps.append(nb[s_used])
    npc = np.bincount(cP, minlength=n_c)
    c_lim = np.flatnonzero(ccap < npc)  # only rows that can bind
    if c_lim.size:
        sel = np.isin(cP, c_lim)
        pos = np.full(n_c, -1)
        pos[c_lim] = np.arange(c_lim.size)
        blocks.append(_rows(pos[cP[sel]], np.ones(sel.sum()), c_lim.size, n_var, cols[sel]))
        kinds.append(np.full(c_lim.size, 1))
        index.append(c_lim)
        caps.append(ccap[c_lim])
    if sat_downlink_mbps is not None:
        dl = np.broadcast_to(np.asarray(sat_downlink_mbps, dtype=float), (n_sat,))
        blocks.append(_rows(s_inv, kP, s_used.size, n_var))
        kinds.append(np.full(s_used.size, 2))
        index.append(s_used)
        caps.append(dl[s_used] * _SCALE)
    if backhaul is not None and n_var:
        Rb = sp.csr_matrix(backhaul["R"], dtype=float)
        bcap = np.asarray(backhaul["capacity_mbps"], dtype=float).reshape(-1)
        bkind = np.asarray(backhaul["kind"]).astype(str).reshape(-1)
        code = np.full(bkind.size, -1)
        for i, name in enumerate(RESOURCE_KINDS):
            code[bkind == name] = i
        if (code < 0).any():
            raise InputError(f"unknown backhaul link kind {bkind[code < 0][0]!r}", field="backhaul")
        A = (Rb[:, route[P]] @ sp.diags(kP)).tocsr()
        live = np.flatnonzero(np.diff(A.indptr) > 0)
        blocks.append(A[live])
        kinds.append(code[live])
        index.append(live)
        caps.append(bcap[live] * _SCALE)
    return {
        "A": sp.vstack(blocks, format="csr"),
        "kind": np.concatenate(kinds),
        "index": np.concatenate(index),
        "cap": np.concatenate(caps),
        "X": _rows(cP, kP, n_c, n_var),
        "usable": usable,
        "P": P,
        "n_var": n_var,
        "n_sat": n_sat,
        "cP": cP,
        "kP": kP,
    }


def _quiet_highs(highspy):
    """A ``highspy.Highs`` with output off. HiGHS's C++ constructor prints a banner on the
    process's file descriptor 1 before any option can be set, which would land in a table or
    a ``--json`` document: the first construction runs with fd 1 pointed at /dev/null."""
    import os
    import sys

    try:
        saved = -1 if getattr(_quiet_highs, "done", False) else os.dup(1)
    except OSError:  # no fd 1 at all: nothing to protect
        saved = -1
    if saved < 0:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _quiet_highs.done = True
    h.setOptionValue("output_flag", False)
    return h


class _LinprogFill:
    """Progressive filling with ``scipy.optimize.linprog(method="highs")``, one cold LP per
    round (the plain formulation; the benchmark's baseline)."""

    def __init__(self, A_res, cap_res, A_dem, b_dem, X, wS, active):
        self.A_res, self.cap, self.A_dem, self.b_dem, self.X, self.wS = (
            A_res,
            cap_res,
            A_dem,
            b_dem,
            X,
            wS,
        )
        self.n_var = X.shape[1]
        self.floor = np.zeros(X.shape[0])
        self.seconds = 0.0

    def _run(self, c, A, b, bounds):
        t0 = time.perf_counter()
        res = linprog(c, A_ub=A, b_ub=b, bounds=bounds, method="highs")
        self.seconds += time.perf_counter() - t0
        if res.status != 0:
            raise SkyMeshError(f"beam assignment LP failed: {res.message}")
        return res

    def solve_level(self, unf, t_max):
        n_var, n_res, n_dem = self.n_var, self.cap.size, self.b_dem.size
        frz = np.flatnonzero(self.floor > 0)
        A = sp.vstack(
            [
                sp.hstack([self.A_res, sp.csr_matrix((n_res, 1))]),
                sp.hstack([self.A_dem, sp.csr_matrix((n_dem, 1))]),
                sp.hstack([-self.X[unf], sp.csr_matrix(self.wS[unf][:, None])]),
                sp.hstack([-self.X[frz], sp.csr_matrix((frz.size, 1))]),
            ],
            format="csr",
        )
        b = np.r_[self.cap, self.b_dem, np.zeros(unf.size), -self.floor[frz]]
        bounds = np.c_[np.zeros(n_var + 1), np.r_[np.ones(n_var), t_max]]
        res = self._run(np.r_[np.zeros(n_var), -1.0], A, b, bounds)
        marg = -np.asarray(res.ineqlin.marginals)
        return (
            float(res.x[-1]),
            marg[:n_res],
            marg[n_res + n_dem : n_res + n_dem + unf.size],
            -np.asarray(res.upper.marginals)[:n_var],
        )

    def freeze(self, cells, level, last=False):
        self.floor[cells] = self.wS[cells] * level * (1 - 1e-9)

    def current(self):
        return self.final()

    def final(self):
        lv = np.flatnonzero(self.floor > 0)
        A = sp.vstack([self.A_res, self.A_dem, -self.X[lv]], format="csr")
        b = np.r_[self.cap, self.b_dem, -self.floor[lv]]
        res = self._run(-np.asarray(self.X.sum(axis=0)).ravel(), A, b, (0.0, 1.0))
        return np.clip(res.x, 0.0, 1.0)


class _HighsFill:
    """Progressive filling on one HiGHS model (``highspy``), warm-started, with column
    generation.

    Freezing a cell only turns its fairness row ``X_c y - w_c t >= 0`` into a floor
    ``X_c y >= w_c t_c``, so each round re-solves from the previous basis (primal simplex,
    which keeps its basis feasible across these edits). The model starts with a few
    candidate pairs per cell (highest beam capacity first); after each solve every pair left
    out is priced with the row duals (reduced cost ``c_j - a_j . pi``) and those that would
    improve the objective are added, until none would (Dantzig-Wolfe column generation;
    see e.g. Desrosiers & Luebbecke, "A primer in column generation", 2005). Each round's LP
    is therefore solved exactly over *all* pairs."""

    def __init__(
        self,
        A_res,
        cap_res,
        A_dem,
        b_dem,
        X,
        wS,
        active,
        init_cols=None,
        cell_of=None,
        add_per_cell=2,
    ):
        import highspy

        self.cell_of, self.n_cells, self.add_per_cell = cell_of, X.shape[0], add_per_cell

        self.hs = highspy
        self.n_var = n_var = X.shape[1]
        self.n_res, self.n_dem = cap_res.size, b_dem.size
        self.row_of = np.full(X.shape[0], -1)
        self.row_of[active] = self.n_res + self.n_dem + np.arange(active.size)
        self.wS = wS
        self.Ay = sp.vstack([A_res, A_dem, X[active]], format="csc")
        self.Ay.sort_indices()
        self.n_rows = self.Ay.shape[0]
        self.colsum = np.asarray(X.sum(axis=0)).ravel()
        self.cost = np.zeros(n_var)
        h = _quiet_highs(highspy)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("simplex_strategy", 4)  # primal simplex
        inf = highspy.kHighsInf
        # column 0 is t: -w_c on the fairness rows
        t_col = sp.csc_matrix(
            (-wS[active], (self.row_of[active], np.zeros(active.size, int))), shape=(self.n_rows, 1)
        )
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = 1, self.n_rows
        lp.col_cost_ = np.array([-1.0])
        lp.col_lower_ = np.array([0.0])
        lp.col_upper_ = np.array([inf])
        lp.row_lower_ = np.r_[np.full(self.n_res + self.n_dem, -inf), np.zeros(active.size)]
        lp.row_upper_ = np.r_[cap_res, b_dem, np.full(active.size, inf)]
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = t_col.indptr.astype(np.int32)
        lp.a_matrix_.index_ = t_col.indices.astype(np.int32)
        lp.a_matrix_.value_ = t_col.data.astype(float)
        h.passModel(lp)
        self.h, self.inf, self.seconds, self.added_rounds = h, inf, 0.0, 0
        self.in_model = np.zeros(n_var, bool)
        self.cols = np.zeros(0, np.int64)
        self._add(np.arange(n_var) if init_cols is None else np.asarray(init_cols))

    def _add(self, j):
        j = np.asarray(j, dtype=np.int64)
        j = j[~self.in_model[j]]
        if not j.size:
            return
        sub = self.Ay[:, j]
        sub.sort_indices()
        self.h.addCols(
            j.size,
            self.cost[j],
            np.zeros(j.size),
            np.ones(j.size),
            sub.nnz,
            sub.indptr[:-1].astype(np.int32),
            sub.indices.astype(np.int32),
            sub.data.astype(float),
        )
        self.in_model[j] = True
        self.cols = np.r_[self.cols, j]

    def _run(self):
        hs = self.hs
        while True:
            t0 = time.perf_counter()
            self.h.run()
            self.seconds += time.perf_counter() - t0
            st = self.h.getModelStatus()
            if st != hs.HighsModelStatus.kOptimal:
                raise SkyMeshError(f"beam assignment LP failed: {self.h.modelStatusToString(st)}")
            sol = self.h.getSolution()
            pi = np.asarray(sol.row_dual)
            rc = self.cost - self.Ay.T @ pi
            cand = np.flatnonzero(~self.in_model & (rc < -1e-9))
            if not cand.size:
                return sol
            self.added_rounds += 1
            # the most attractive few per cell, so the model stays small
            self._add(
                cand[_best_per_cell(self.cell_of[cand], -rc[cand], self.n_cells, self.add_per_cell)]
            )

    def solve_level(self, unf, t_max):
        self.h.changeColBounds(0, 0.0, float(t_max) if np.isfinite(t_max) else self.inf)
        sol = self._run()
        x = np.asarray(sol.col_value)
        rd = np.abs(np.asarray(sol.row_dual))
        cd = np.abs(np.asarray(sol.col_dual))
        mu_pair = np.zeros(self.n_var)
        up = x[1:] >= 1 - 1e-9
        mu_pair[self.cols[up]] = cd[1:][up]
        return float(x[0]), rd[: self.n_res], rd[self.row_of[unf]], mu_pair

    def freeze(self, cells, level, last=False):
        cells = np.asarray(cells)
        rows = self.row_of[cells]
        keep = rows >= 0
        rows, cells = rows[keep], cells[keep]
        lv = np.broadcast_to(np.asarray(level, dtype=float), keep.shape)[keep]
        if not last:  # after the last round t is fixed at 0: its coefficients are moot
            for r in rows.tolist():
                self.h.changeCoeff(int(r), 0, 0.0)
        if rows.size:
            self.h.changeRowsBounds(
                rows.size,
                rows.astype(np.int32),
                self.wS[cells] * lv * (1 - 1e-9),
                np.full(rows.size, self.inf),
            )

    def current(self):
        y = np.zeros(self.n_var)
        y[self.cols] = np.clip(np.asarray(self.h.getSolution().col_value)[1:], 0.0, 1.0)
        return y

    def final(self):
        self.h.changeColBounds(0, 0.0, 0.0)
        self.cost = -self.colsum
        m = self.cols.size
        self.h.changeColsCost(
            m + 1, np.arange(m + 1, dtype=np.int32), np.r_[0.0, self.cost[self.cols]]
        )
        sol = self._run()
        y = np.zeros(self.n_var)
        y[self.cols] = np.clip(np.asarray(sol.col_value)[1:], 0.0, 1.0)
        return y


def _best_per_cell(cP, kP, n_c, k_best):
    """LP columns of the ``k_best`` highest-capacity pairs of every cell."""
    order = np.lexsort((-kP, cP))
    c_sorted = cP[order]
    first = np.r_[True, c_sorted[1:] != c_sorted[:-1]] if order.size else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
    return order[(np.arange(order.size) - start) < k_best]


def _attribute(ci, touch, weight_res, kind_res, mu_pair, cP, n_c, tol):
    """Reason (binding kind) of cells ``ci`` from the duals of one LP round."""
    pos = np.where(weight_res > tol, weight_res, 0.0)
    M = sp.csr_matrix(touch[ci] @ sp.diags(pos)) if pos.size else sp.csr_matrix((ci.size, 1))
    best = np.asarray(M.argmax(axis=1)).ravel()
    top = M.max(axis=1).toarray().ravel()
    pair_top = np.zeros(n_c)
    np.maximum.at(pair_top, cP, np.maximum(mu_pair, 0.0))
    names = np.array(RESOURCE_KINDS, dtype=object)
    kind = names[kind_res[best]] if kind_res.size else np.full(ci.size, "shared", object)
    out = np.where(top > tol, kind, "shared")
    return np.where((pair_top[ci] > tol) & (pair_top[ci] >= top), "cell-beams", out)


def assign_cells(
    pair_cell,
    pair_sat,
    pair_capacity_mbps,
    cell_demand_mbps,
    *,
    n_cells=None,
    cell_weight=None,
    cell_beam_cap=None,
    beams_per_sat=BEAMS_PER_SAT,
    sat_downlink_mbps=None,
    backhaul=None,
    max_rounds: int = 64,
    tol: float = 1e-7,
    solver: str = "highspy",
    initial_pairs: int = 8,
) -> dict:
    """Max-min fair beam time for every cell in one slot (see the module docstring).

    Parameters
    ----------
    pair_cell, pair_sat : (P,) int
        Candidate (cell, satellite) pairs: the satellite sees the cell above the mask.
    pair_capacity_mbps : (P,) Mbit/s
        A full beam's capacity on that pair (link budget at its geometry).
    cell_demand_mbps : (C,) Mbit/s, inf = elastic.
    n_cells : int, optional
        Number of cells (default ``len(cell_demand_mbps)``).
    cell_weight : (C,), optional
        Fairness weights (default: the demand when finite, else 1); a cell's level is
        ``x_c / w_c``.
    cell_beam_cap : (C,), optional
        Beams one cell can have at once (default `MAX_BEAMS_PER_CELL`); pass
        ``min(8, n_terminals)`` for terminal-limited cells.
    beams_per_sat : int or (N,) int
        User beams per satellite (default 16).
    sat_downlink_mbps : float or (N,), optional
        Total user downlink per satellite (Mbit/s).
    backhaul : dict, optional
        ``route_of_pair``, ``R`` (links x routes), ``capacity_mbps``, ``kind`` (see the module
        docstring). Pairs with route -1 cannot be used.
    max_rounds : int
        Progressive-filling rounds (LPs) before the rest is frozen.
    solver : {"highspy", "linprog"}
        One warm-started HiGHS model (default), or a cold ``scipy.optimize.linprog`` per
        round (same formulation; the reference and benchmark baseline).
    initial_pairs : int
        ``highspy`` only: pairs per cell in the first model (best beam capacity first); the
        rest enter by column generation when they would help, so the answer does not depend
        on it.

    Returns
    -------
    dict
        ``beam_time`` (P,), ``rate_mbps`` (P,); ``cell_rate_mbps``, ``cell_level``
        (rate / weight), ``cell_reason`` (C, str, see `REASONS`), ``cell_weight`` (C,);
        ``sat_beam_time`` (N,) beams in use per satellite; ``binding`` (dict over LP rows:
        ``kind``, ``index`` (satellite, cell or link), ``capacity``, ``load`` in the row's
        unit -- beams or Mbit/s -- ``tight`` bool); ``rounds``, ``levels``
        (t per round), ``lp_seconds``; ``totals`` (scalars).
    """
    pc, ps, k, d, n_c = _check(pair_cell, pair_sat, pair_capacity_mbps, cell_demand_mbps, n_cells)
    if solver not in ("highspy", "linprog"):
        raise InputError(f"unknown solver {solver!r}; use 'highspy' or 'linprog'", field="solver")
    n_pairs = pc.size
    if cell_weight is None:
        w = np.where(np.isfinite(d), d, 1.0)
    else:
        w = np.broadcast_to(np.asarray(cell_weight, dtype=float), (n_c,)).copy()
        if (w < 0).any() or not np.isfinite(w).all():
            raise InputError("cell weights must be finite and >= 0", field="cell_weight")
    rs = _resources(pc, ps, k, n_c, beams_per_sat, cell_beam_cap, sat_downlink_mbps, backhaul)
    usable, P, n_var, n_sat, cP = rs["usable"], rs["P"], rs["n_var"], rs["n_sat"], rs["cP"]
    A_res, kind_res, idx_res, cap_res, X = (rs[x] for x in ("A", "kind", "index", "cap", "X"))
    n_res = cap_res.size
    has_pair = np.bincount(pc[k > 0], minlength=n_c) > 0  # a beam that closes
    has_use = np.bincount(pc[usable], minlength=n_c) > 0
    reason = np.full(n_c, "", dtype=object)
    reason[~has_pair] = "no-coverage"
    reason[has_pair & ~has_use] = "no-route"
    reason[(d == 0) | (w == 0)] = "demand"
    frozen = reason != ""
    level = np.zeros(n_c)
    dS = d * _SCALE
    fin = np.flatnonzero(np.isfinite(d) | (w == 0))
    dS = np.where(np.isfinite(d), dS, 0.0)
    A_dem = X[fin]
    wS = w * _SCALE
    Xb = X.copy()
    Xb.data[:] = 1.0
    A_res_b = A_res.copy()
    A_res_b.data[:] = 1.0
    touch = (Xb @ A_res_b.T).tocsr()  # cells x resource rows they use

    levels, rounds = [], 0
    last_t = 0.0
    active = np.flatnonzero(~frozen)
    lp: _HighsFill | _LinprogFill
    if solver == "highspy":
        lp = _HighsFill(
            A_res,
            cap_res,
            A_dem,
            dS[fin],
            X,
            wS,
            active,
            _best_per_cell(cP, rs["kP"], n_c, initial_pairs),
            cell_of=cP,
        )
    else:
        lp = _LinprogFill(A_res, cap_res, A_dem, dS[fin], X, wS, active)
    while not frozen.all() and n_var:
        if rounds >= max_rounds:
            level[~frozen] = last_t
            reason[~frozen] = "round-limit"
            lp.freeze(np.flatnonzero(~frozen), last_t, last=True)
            frozen[:] = True
            break
        rounds += 1
        unf = np.flatnonzero(~frozen)
        ratio = np.where(np.isfinite(d[unf]), dS[unf] / np.where(wS[unf] > 0, wS[unf], 1), np.inf)
        t_max = ratio.min(initial=np.inf)
        t, mu_res, mu_fair, mu_pair = lp.solve_level(unf, t_max)
        last_t = t
        levels.append(t)
        newly = np.zeros(n_c, bool)
        dem_hit = np.isfinite(ratio) & (ratio <= t * (1 + 1e-9) + 1e-15)
        if np.isfinite(t_max) and t >= t_max * (1 - 1e-9):
            newly[unf[dem_hit]] = True
            reason[unf[dem_hit]] = "demand"
            level[unf[dem_hit]] = ratio[dem_hit]
        cap_hit = (mu_fair > tol) & ~newly[unf]
        if not cap_hit.any() and not newly.any():
            cap_hit = np.ones(unf.size, bool)  # degenerate duals: all at this level
        ci = unf[cap_hit]
        newly[ci] = True
        level[ci] = t
        # binding resource of each newly frozen cell: among the rows its pairs use, the one
        # with the largest dual x right-hand side (its share of t by strong duality); the
        # pair bounds y <= 1 (one beam of a satellite on a cell) count as cell-beams
        if ci.size:
            reason[ci] = _attribute(ci, touch, mu_res * cap_res, kind_res, mu_pair, cP, n_c, tol)
        frozen |= newly
        lp.freeze(np.flatnonzero(newly), level[np.flatnonzero(newly)], last=frozen.all())
    # final LP: hold every cell at its level, maximise the total served rate
    # (skipped when every cell is held at its demand: nothing can grow, the last round's
    # solution already is the answer)
    all_demand = bool(np.all(reason[active] == "demand")) and rounds > 0
    y = (lp.current() if all_demand else lp.final()) if n_var else np.zeros(0)
    lp_s = lp.seconds
    beam_time = np.zeros(n_pairs)
    beam_time[P] = y
    rate = beam_time * k
    cell_rate = np.bincount(pc, weights=rate, minlength=n_c).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cell_level = np.where(w > 0, cell_rate / np.where(w > 0, w, 1.0), 0.0)
    sat_bt = np.bincount(ps, weights=beam_time, minlength=n_sat).astype(float)
    load = A_res @ y if n_var else np.zeros(n_res)
    tight = load >= cap_res * (1 - 1e-6) - 1e-9
    kind_names = np.array(RESOURCE_KINDS, dtype=object)
    unit = np.where(np.isin(kind_res, (0, 1)), 1.0, 1.0 / _SCALE)
    binding = {
        "kind": kind_names[kind_res],
        "index": idx_res,
        "capacity": cap_res * unit,
        "load": load * unit,
        "tight": tight,
    }
    fin_all = np.isfinite(d)
    totals = {
        "n_cells": n_c,
        "n_pairs": n_pairs,
        "n_lp_columns": n_var,
        "rate_mbps": float(rate.sum()),
        "demand_mbps": float(d[fin_all].sum()),
        "n_cells_served": int((cell_rate > 0).sum()),
        "n_cells_covered": int(has_pair.sum()),
        "beams_in_use": float(beam_time.sum()),
        "min_level": float(cell_level[has_use & (w > 0)].min())
        if (has_use & (w > 0)).any()
        else float("nan"),
    }
    return {
        "beam_time": beam_time,
        "rate_mbps": rate,
        "cell_rate_mbps": cell_rate,
        "cell_level": cell_level,
        "cell_reason": reason.astype(str),
        "cell_weight": w,
        "sat_beam_time": sat_bt,
        "binding": binding,
        "rounds": rounds,
        "levels": np.asarray(levels),
        "lp_seconds": lp_s,
        "totals": totals,
    }


def terminal_rates(result: dict, terminal_cell, terminal_weight, terminal_demand_mbps):
    """Each terminal's rate (Mbit/s): its cell's level x its weight, capped at its demand.

    Inside a cell the on-satellite scheduler shares the cell's beam time among its terminals
    (round-robin frames, Tanveer et al. 2023); with the default weights (demand) every
    terminal of a cell gets the same fraction of its demand, which sums to the cell's rate.
    """
    cell = np.asarray(terminal_cell, dtype=np.int64).reshape(-1)
    d = np.broadcast_to(np.asarray(terminal_demand_mbps, dtype=float), cell.shape)
    w = np.broadcast_to(np.asarray(terminal_weight, dtype=float), cell.shape)
    return np.minimum(result["cell_level"][cell] * w, d)


def carry_at_rate(
    pair_cell,
    pair_sat,
    pair_capacity_mbps,
    cell_terminals,
    target_mbps,
    *,
    beams_per_sat=BEAMS_PER_SAT,
    cell_beam_cap=None,
    sat_downlink_mbps=None,
    backhaul=None,
    admit_cell_beam_cap=None,
) -> dict:
    """How many terminals the region can carry at ``target_mbps`` (one LP, HiGHS).

    Scales every covered cell's terminal count by a common factor ``alpha`` and maximises it:
    ``x_c >= alpha * n_c * target`` for every cell with a usable pair, under the resources of
    :func:`assign_cells` (demand rows dropped: every terminal asks for the target). The region
    then carries ``alpha * sum n_c`` terminals at the target with today's geography; the
    constraints with non-zero duals are those that bind first (``binding_kind``: the kind
    with the largest share).

    A second LP gives *admission*: the largest number of today's terminals that can all get
    the target at once if the operator chooses which (``max sum a_c``, ``0 <= a_c <= n_c``,
    ``x_c >= a_c * target``; ``n_admitted`` sums the per-cell floors, so it is feasible).
    ``admit_cell_beam_cap`` (C,) replaces ``cell_beam_cap`` in that second LP only (e.g.
    min(8, terminals in the cell): today's terminals are counted as they are, while the
    scaled count of the first LP treats them as a pattern of demand).

    Returns
    -------
    dict: ``alpha``, ``n_covered`` (terminals in cells with a usable pair), ``n_at_target``
    (floor(alpha x n_covered)), ``n_more`` (n_at_target - n_covered, negative = short),
    ``n_admitted``, ``cell_admitted`` (C,),
    ``binding_kind``, ``dual_by_kind`` (dict: each kind's share of alpha, dual x capacity;
    the pair bounds y <= 1 count as ``cell-beams``), ``lp_seconds``.
    """
    n = np.asarray(cell_terminals, dtype=float).reshape(-1)
    pc, ps, k, _, n_c = _check(pair_cell, pair_sat, pair_capacity_mbps, np.zeros(n.size), n.size)
    if not target_mbps > 0:
        raise InputError("target rate must be > 0 Mbit/s", field="target_mbps")
    rs = _resources(pc, ps, k, n_c, beams_per_sat, cell_beam_cap, sat_downlink_mbps, backhaul)
    use = (np.bincount(pc[rs["usable"]], minlength=n_c) > 0) & (n > 0)
    cells = np.flatnonzero(use)
    n_var = rs["n_var"]
    n_res = rs["cap"].size
    A_ub = sp.vstack(
        [
            sp.hstack([rs["A"], sp.csr_matrix((n_res, 1))]),
            sp.hstack([-rs["X"][cells], sp.csr_matrix(n[cells][:, None] * target_mbps * _SCALE)]),
        ],
        format="csr",
    )
    b_ub = np.r_[rs["cap"], np.zeros(cells.size)]
    t0 = time.perf_counter()
    res = linprog(
        np.r_[np.zeros(n_var), -1.0],
        A_ub=A_ub,
        b_ub=b_ub,
        bounds=np.c_[np.zeros(n_var + 1), np.r_[np.ones(n_var), np.inf]],
        method="highs",
    )
    lp_s = time.perf_counter() - t0
    n_cov = int(n[cells].sum())
    if cells.size == 0:
        return {
            "alpha": 0.0,
            "n_covered": 0,
            "n_at_target": 0,
            "n_more": 0,
            "binding_kind": "no-coverage",
            "dual_by_kind": {},
            "n_admitted": 0,
            "cell_admitted": np.zeros(n_c),
            "lp_seconds": lp_s,
        }
    if res.status != 0:
        raise SkyMeshError(f"capacity LP failed: {res.message}")
    alpha = float(res.x[-1])
    # each constraint's share of alpha by strong duality: dual x right-hand side
    mu = -np.asarray(res.ineqlin.marginals)[:n_res] * rs["cap"]
    by = np.bincount(rs["kind"], weights=np.maximum(mu, 0.0), minlength=len(RESOURCE_KINDS))
    by[RESOURCE_KINDS.index("cell-beams")] += np.maximum(
        -np.asarray(res.upper.marginals)[:n_var], 0.0
    ).sum()
    dual_by_kind = {RESOURCE_KINDS[i]: float(v) for i, v in enumerate(by) if v > 1e-12}
    at = int(np.floor(alpha * n_cov + 1e-9))
    # admission: the most of today's terminals that can all have the target at once
    # (max sum a_c, 0 <= a_c <= n_c, x_c >= a_c * target), its per-cell floor
    nc = cells.size
    rs2 = (
        rs
        if admit_cell_beam_cap is None
        else _resources(
            pc, ps, k, n_c, beams_per_sat, admit_cell_beam_cap, sat_downlink_mbps, backhaul
        )
    )
    n_res2 = rs2["cap"].size
    A2 = sp.vstack(
        [
            sp.hstack([rs2["A"], sp.csr_matrix((n_res2, nc))]),
            sp.hstack([-rs["X"][cells], sp.identity(nc, format="csr") * (target_mbps * _SCALE)]),
        ],
        format="csr",
    )
    t0 = time.perf_counter()
    res2 = linprog(
        np.r_[np.zeros(n_var), -np.ones(nc)],
        A_ub=A2,
        b_ub=np.r_[rs2["cap"], np.zeros(nc)],
        bounds=np.c_[np.zeros(n_var + nc), np.r_[np.ones(n_var), n[cells]]],
        method="highs",
    )
    lp_s += time.perf_counter() - t0
    if res2.status != 0:
        raise SkyMeshError(f"capacity LP failed: {res2.message}")
    admitted = np.zeros(n_c)
    admitted[cells] = np.floor(res2.x[n_var:] + 1e-6)
    return {
        "alpha": alpha,
        "n_covered": n_cov,
        "n_at_target": at,
        "n_more": at - n_cov,
        "binding_kind": max(dual_by_kind, key=dual_by_kind.__getitem__) if dual_by_kind else "",
        "dual_by_kind": dual_by_kind,
        "n_admitted": int(admitted.sum()),
        "cell_admitted": admitted,
        "lp_seconds": lp_s,
    }
