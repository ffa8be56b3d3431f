"""Max-min fair allocation of flow rates over fixed routes, by progressive filling.

A network is a sparse incidence matrix ``R`` (n_links x n_flows; ``R[l, f]`` > 0 is the
capacity flow f uses on link l per unit of its rate, 1 for a plain route), link capacities
``c`` (Mbit/s) and flow demands ``d`` (Mbit/s, may be inf). A rate vector x is max-min fair if
it is feasible (``R x <= c``, ``0 <= x <= d``) and no flow's rate can rise without lowering
that of a flow with an equal or smaller rate. Equivalently (Bertsekas & Gallager, "Data
Networks", 2nd ed., 1992, §6.5.2): every flow either gets its demand or crosses a *bottleneck*
link -- a saturated link on which no other flow has a larger rate.

Progressive filling (B&G §6.5.2; also J.-Y. Le Boudec, "Rate adaptation, congestion control
and fairness: a tutorial"): raise every unfrozen flow at once (by ``w_f * t`` with weights w)
until a link saturates or a flow meets its demand; freeze those flows; repeat. Every round
freezes at least one flow, so there are at most n_flows rounds, each a couple of sparse
matrix-vector products.

`lp_max_min` solves the same problem as a sequence of linear programs with HiGHS
(``scipy.optimize.linprog``), slowly, for cross-checking.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> R = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1]]))   # flow 0 crosses both links
>>> max_min_fair(R, [1.0, 2.0])["rate_mbps"].tolist()
[0.5, 0.5, 1.5]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from skymesh.errors import InputError


def _inputs(R, capacity_mbps, demand_mbps, weights):
    R = sp.csr_matrix(R, dtype=float)
    n_links, n_flows = R.shape
    c = np.asarray(capacity_mbps, dtype=float).reshape(-1)
    if c.shape != (n_links,):
        raise InputError(
            f"capacity has {c.size} entries, R has {n_links} links", field="capacity_mbps"
        )
    if (c < 0).any() or np.isnan(c).any():
        raise InputError("capacities must be >= 0", field="capacity_mbps")
    if R.nnz and (R.data < 0).any():
        raise InputError("R must be non-negative", field="R")
    d = (
        np.full(n_flows, np.inf)
        if demand_mbps is None
        else np.broadcast_to(np.asarray(demand_mbps, dtype=float), (n_flows,)).copy()
    )
    if (d < 0).any() or np.isnan(d).any():
        raise InputError("demands must be >= 0 (inf allowed)", field="demand_mbps")
    w = (
        np.ones(n_flows)
        if weights is None
        else np.broadcast_to(np.asarray(weights, dtype=float), (n_flows,)).copy()
    )
    if not (w > 0).all() or not np.isfinite(w).all():
        raise InputError("weights must be finite and > 0", field="weights")
    R.eliminate_zeros()
    return R, c, d, w


def max_min_fair(R, capacity_mbps, demand_mbps=None, weights=None, *, rtol: float = 1e-12):
    """Weighted max-min fair rates by progressive filling (water-filling), vectorised.

    Parameters
    ----------
    R : sparse or dense array, shape (n_links, n_flows)
        Incidence matrix; ``R[l, f]`` = load on link l per Mbit/s of flow f (1 on its route).
    capacity_mbps : array_like, shape (n_links,)
        Link capacities (Mbit/s).
    demand_mbps : array_like, shape (n_flows,), optional
        Flow demands (Mbit/s); inf (default) means elastic.
    weights : array_like, shape (n_flows,), optional
        Flow f grows as ``weights[f] * t``: weighted max-min fairness of ``x / w``.
    rtol : float
        Relative slack under which a link counts as saturated (of its capacity).

    Returns
    -------
    dict
        ``rate_mbps`` (n_flows,), ``link_load_mbps`` (n_links,), ``saturated`` (n_links, bool:
        load within ``rtol`` of capacity), ``bottleneck`` (n_flows, int: the saturated link
        that froze the flow, -1 if it met its demand, -2 if it crosses no link),
        ``rounds`` (int).

    A flow that crosses no link gets its demand (inf if unbounded).
    """
    R, c, d, w = _inputs(R, capacity_mbps, demand_mbps, weights)
    n_links, n_flows = R.shape
    RT = R.T.tocsr()
    x = np.zeros(n_flows)
    bottleneck = np.full(n_flows, -1)
    no_link = np.diff(RT.indptr) == 0
    x[no_link] = d[no_link]
    bottleneck[no_link] = -2
    active = ~no_link & (d > 0)
    tol_c = rtol * np.maximum(c, 1.0)
    rounds = 0
    while active.any():
        rounds += 1
        residual = np.maximum(c - R @ x, 0.0)
        growth = R @ np.where(active, w, 0.0)  # load added per unit of t, per link
        used = growth > 0
        step_link = np.full(n_links, np.inf)
        step_link[used] = residual[used] / growth[used]
        step_flow = np.where(active, (d - x) / w, np.inf)
        dt = min(step_link.min(initial=np.inf), step_flow.min(initial=np.inf))
        x = np.where(active, x + w * dt, x)
        # links hit this round: the minimum step (exactly) or left with no slack
        sat_now = used & ((step_link <= dt) | (residual - growth * dt <= tol_c))
        hit = (RT @ sat_now.astype(float)) > 0
        done_demand = active & np.isfinite(d) & (d - x <= rtol * np.maximum(d, 1.0))
        x[done_demand] = d[done_demand]
        freeze = active & (hit | done_demand)
        if not freeze.any():  # pragma: no cover - guards against float stalls
            freeze = active & (step_flow <= dt)
        if hit.any():
            # bottleneck: the first saturated link of the flow's route
            frz = np.flatnonzero(freeze & hit)
            sub = sp.csr_matrix(RT[frz].multiply(sat_now[None, :].astype(float)))
            sub.eliminate_zeros()
            sub.sort_indices()
            bottleneck[frz] = sub.indices[sub.indptr[:-1]]
        bottleneck[freeze & ~hit] = -1
        active &= ~freeze
    load = R @ x
    return {
        "rate_mbps": x,
        "link_load_mbps": load,
        "saturated": load >= c - tol_c,
        "bottleneck": bottleneck,
        "rounds": rounds,
    }


def lp_max_min(R, capacity_mbps, demand_mbps=None, weights=None, *, tol: float = 1e-9):
    """Max-min fair rates by sequential linear programs (HiGHS), for cross-checking.

    Each round solves ``max t  s.t.  x_f >= w_f t (unfrozen f), x_f = fixed (frozen f),
    R x <= c, 0 <= x <= d`` with ``scipy.optimize.linprog(method="highs")``; then, for each
    unfrozen flow, one more LP maximises ``x_f`` with the others held at ``>= w t*``. Flows that
    cannot exceed ``w_f t*`` (by more than ``tol`` relative) are frozen there. Slow (O(n_flows^2)
    LPs); meant for small instances and tests. Same return keys as `max_min_fair` except
    ``bottleneck`` and ``rounds`` (``rounds`` counts the max-t LPs).
    """
    R, c, d, w = _inputs(R, capacity_mbps, demand_mbps, weights)
    n_links, n_flows = R.shape
    Rd = R.toarray()
    x = np.zeros(n_flows)
    no_link = ~(Rd > 0).any(axis=0)
    x[no_link] = d[no_link]
    frozen = no_link | (d == 0)
    rounds = 0
    bounds_x = [(0.0, None if np.isinf(di) else di) for di in d]
    while not frozen.all():
        rounds += 1
        unf = np.flatnonzero(~frozen)
        # variables: x (n_flows), t
        A_cap = np.hstack([Rd, np.zeros((n_links, 1))])
        A_fair = np.zeros((unf.size, n_flows + 1))
        A_fair[np.arange(unf.size), unf] = -1.0
        A_fair[:, -1] = w[unf]
        bounds = [(x[f], x[f]) if frozen[f] else bounds_x[f] for f in range(n_flows)]
        res = linprog(
            np.r_[np.zeros(n_flows), -1.0],
            A_ub=np.vstack([A_cap, A_fair]),
            b_ub=np.r_[c, np.zeros(unf.size)],
            bounds=bounds + [(0.0, None)],
            method="highs",
        )
        if res.status != 0:
            raise RuntimeError(f"HiGHS failed: {res.message}")
        t = res.x[-1]
        newly = []
        for f in unf:
            cost = np.zeros(n_flows)
            cost[f] = -1.0
            b2 = list(bounds)
            for g in unf:
                lo = w[g] * t
                hi = b2[g][1]
                b2[g] = (min(lo, hi) if hi is not None else lo, hi)
            r2 = linprog(cost, A_ub=Rd, b_ub=c, bounds=b2, method="highs")
            if r2.status == 3:  # unbounded: this flow is not limited by anything
                continue
            if r2.status != 0:
                raise RuntimeError(f"HiGHS failed: {r2.message}")
            if r2.x[f] <= w[f] * t * (1.0 + tol) + tol:
                newly.append(f)
        if not newly:  # pragma: no cover - numerical safety
            newly = list(unf)
        x[newly] = np.minimum(w[newly] * t, d[newly])
        frozen[newly] = True
    load = Rd @ x
    return {
        "rate_mbps": x,
        "link_load_mbps": load,
        "saturated": load >= c - tol * np.maximum(c, 1.0),
        "rounds": rounds,
    }


def max_terminals_at_rate(R, capacity_mbps, target_mbps, demand_mbps=None, order=None):
    """How many terminals, admitted in a fixed order, can all get at least ``target_mbps``.

    With fixed routes every admitted terminal f needs ``r_f = min(target, demand_f)``; a set of
    terminals can all have that at once iff ``R r <= c`` on every link, and then the max-min
    fair allocation of that set gives each of them at least ``r_f`` (max-min fairness maximises
    the smallest rate first). Because loads only grow as terminals are added, the answer is the
    longest prefix of ``order`` that fits -- found exactly from per-link cumulative loads, no
    bisection needed.

    Parameters
    ----------
    R : sparse, shape (n_links, n_terminals)
        Routes of the terminals (one column each).
    capacity_mbps : array_like (n_links,)
    target_mbps : float
        Rate every admitted terminal must get (Mbit/s).
    demand_mbps : array_like, optional
        Terminals wanting less than the target need only their demand.
    order : array_like of int, optional
        Admission order (default 0, 1, 2, ...): e.g. by distance or by sign-up date.

    Returns
    -------
    dict
        ``n_terminals`` (int), ``admitted`` (indices of the admitted terminals, in order),
        ``limiting_link`` (the link that refuses the next terminal, -1 if all fit).
    """
    R, c, d, _ = _inputs(R, capacity_mbps, demand_mbps, None)
    n_links, n = R.shape
    if not target_mbps > 0:
        raise InputError("target rate must be > 0 Mbit/s", field="target_mbps")
    order = np.arange(n) if order is None else np.asarray(order, dtype=int)
    if sorted(order.tolist()) != list(range(n)):
        raise InputError("order must be a permutation of the terminals", field="order")
    need = np.minimum(float(target_mbps), d)[order]
    coo = (R[:, order] @ sp.diags(need)).tocoo()
    keep = coo.data > 0
    link, pos, load = coo.row[keep], coo.col[keep], coo.data[keep]
    srt = np.lexsort((pos, link))
    link, pos, load = link[srt], pos[srt], load[srt]
    cum = np.cumsum(load)
    starts = np.flatnonzero(np.r_[True, link[1:] != link[:-1]]) if link.size else np.array([], int)
    if link.size:
        base = np.repeat(cum[starts] - load[starts], np.diff(np.r_[starts, link.size]))
        cum = cum - base  # per-link running load
    over = cum > c[link] * (1.0 + 1e-12) + 1e-12
    if over.any():
        first = np.argmin(np.where(over, pos, n))
        k, limiting = int(pos[first]), int(link[first])
    else:
        k, limiting = n, -1
    return {"n_terminals": k, "admitted": order[:k], "limiting_link": limiting}
