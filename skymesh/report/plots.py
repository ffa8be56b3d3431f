"""RTT plots: RTT over time and its CDF, against what light could do.

Two reference lines sit on every plot:

* the **vacuum bound**, ``2 x great-circle distance / c``: no path, through
  space or glass, can beat it;
* **great-circle fibre**, ``2 x great-circle distance x n / c`` with
  ``n = 1.47``, the group index of standard single-mode silica fibre
  (Corning SMF-28: 1.4677 at 1310 nm, 1.4682 at 1550 nm), i.e. light at
  about 2/3 c: a fibre laid along the great circle, which real cables are not
  (they are longer), so terrestrial RTTs are usually well above this line.

Great-circle distances use the IUGG mean Earth radius (6371.0088 km).

Plain functions over arrays that return a :class:`matplotlib.figure.Figure`
and save it (PNG/SVG/PDF by extension, through an atomic rename) when given
``path``. Time axes given datetimes are in UTC and say so ("time (UTC)").
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError
from skymesh.ground.pops import great_circle_km
from skymesh.report.maps import _finish, new_figure

#: Group refractive index of silica single-mode fibre (Corning SMF-28 ~1.468; light at ~2/3 c).
FIBRE_REFRACTIVE_INDEX = 1.47

VACUUM_STYLE = dict(color="#2c7a2c", linestyle="--", linewidth=1.2)
FIBRE_STYLE = dict(color="#a05a00", linestyle=":", linewidth=1.5)
VACUUM_LABEL = "vacuum bound"
FIBRE_LABEL = "great-circle fibre (n = 1.47)"


def vacuum_rtt_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg):
    """Round trip at the speed of light in vacuum along the great circle (ms)."""
    return 2.0 * great_circle_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg) / SPEED_OF_LIGHT_KM_S * 1e3


def fibre_rtt_ms(
    lat1_deg, lon1_deg, lat2_deg, lon2_deg, refractive_index: float = FIBRE_REFRACTIVE_INDEX
):
    """Round trip through a fibre laid along the great circle (ms), n = 1.47 by default."""
    return vacuum_rtt_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg) * refractive_index


def _as_float(values, field: str) -> np.ndarray:
    """Floats with None/null as NaN (pyarrow columns, lists with None work)."""
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        try:
            values = values.to_numpy(zero_copy_only=False)
        except TypeError:
            values = values.to_numpy()
    arr = np.asarray(
        [np.nan if v is None else v for v in values] if isinstance(values, list) else values,
        dtype=float,
    )
    if arr.ndim != 1:
        raise InputError(f"{field} must be one-dimensional, got shape {arr.shape}", field=field)
    return arr


def _times(values):
    """(x values, is_datetime) from seconds or datetimes / datetime64."""
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        try:
            values = values.to_numpy(zero_copy_only=False)
        except TypeError:
            values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[ms]").astype(object), True
    if arr.dtype == object and arr.size and isinstance(arr.flat[0], datetime):
        naive = [v.astimezone(timezone.utc).replace(tzinfo=None) if v.tzinfo else v for v in arr]
        return np.array(naive, dtype=object), True
    if arr.dtype.kind in "US" or (
        arr.dtype == object and arr.size and isinstance(arr.flat[0], str)
    ):
        from skymesh.timebase import parse_time

        return np.array([parse_time(v).replace(tzinfo=None) for v in arr], dtype=object), True
    return arr.astype(float), False


def grid_times_utc(grid) -> np.ndarray:
    """The instants of a :class:`~skymesh.timebase.TimeGrid` as ``datetime64[ms]`` (UTC)."""
    start = np.datetime64(grid.start.astimezone(timezone.utc).replace(tzinfo=None), "ms")
    return start + np.round(np.asarray(grid.offsets_s, dtype=float) * 1e3).astype("timedelta64[ms]")


def _utc_axis(ax, is_dt: bool) -> None:
    ax.set_xlabel("time (UTC)" if is_dt else "time (s)")
    if is_dt:
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _nan_spans(x, bad: np.ndarray):
    """(start, end) x-spans of runs of True in ``bad`` (half a step wide either side)."""
    spans: list[tuple[Any, Any]] = []
    idx = np.flatnonzero(bad)
    if idx.size == 0:
        return spans
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    for s, e in zip(starts, ends):
        lo = x[s - 1] if s > 0 else x[s]
        hi = x[e + 1] if e + 1 < len(x) else x[e]
        spans.append((lo, hi))
    return spans


def _reference_lines(ax, vacuum_ms, fibre_ms, vertical: bool):
    line = ax.axvline if vertical else ax.axhline
    if vacuum_ms is not None and np.isfinite(vacuum_ms):
        line(float(vacuum_ms), label=f"{VACUUM_LABEL} ({float(vacuum_ms):.1f} ms)", **VACUUM_STYLE)
    if fibre_ms is not None and np.isfinite(fibre_ms):
        line(float(fibre_ms), label=f"{FIBRE_LABEL} ({float(fibre_ms):.1f} ms)", **FIBRE_STYLE)


def rtt_plot(
    time,
    rtt_ms,
    vacuum_ms=None,
    fibre_ms=None,
    *,
    title: str = "Round-trip time",
    path=None,
    label: str = "RTT via the constellation",
) -> Figure:
    """RTT over time with the vacuum bound and great-circle fibre as horizontal lines.

    Parameters
    ----------
    time : array_like, shape (T,)
        Seconds from the start, or datetimes / ``datetime64`` / ISO strings (UTC).
    rtt_ms : array_like, shape (T,)
        RTT (ms); NaN or None where unreachable: the line has a gap and the
        span is shaded "unreachable".
    vacuum_ms, fibre_ms : float, optional
        Reference RTTs (see :func:`vacuum_rtt_ms`, :func:`fibre_rtt_ms`).
    """
    x, is_dt = _times(time)
    y = _as_float(rtt_ms, "rtt_ms")
    if len(x) != len(y):
        raise InputError(f"time has {len(x)} values but rtt_ms has {len(y)}", field="rtt_ms")
    fig = new_figure(10.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(
        x,
        y,
        color="#1f4e9c",
        linewidth=1.2,
        marker="." if len(y) <= 60 else None,
        label=label,
        zorder=3,
    )
    bad = ~np.isfinite(y)
    for k, (lo, hi) in enumerate(_nan_spans(x, bad)):
        ax.axvspan(
            lo,
            hi,
            color="#d9534f",
            alpha=0.15,
            linewidth=0,
            label="unreachable" if k == 0 else None,
            zorder=1,
        )
    _reference_lines(ax, vacuum_ms, fibre_ms, vertical=False)
    top = np.nanmax(
        np.r_[
            y[np.isfinite(y)],
            [v for v in (vacuum_ms, fibre_ms) if v is not None and np.isfinite(v)],
            1.0,
        ]
    )
    ax.set_ylim(0, top * 1.12)
    if len(x) > 1:
        ax.set_xlim(x[0], x[-1])
    _utc_axis(ax, is_dt)
    ax.set_ylabel("RTT (ms)")
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return _finish(fig, path)


def rtt_cdf_plot(
    rtt_ms,
    vacuum_ms=None,
    fibre_ms=None,
    *,
    title: str = "RTT distribution",
    path=None,
    label: str = "RTT via the constellation",
) -> Figure:
    """Empirical CDF of RTT over steps, with the reference RTTs as vertical lines.

    ``rtt_ms`` is one array, or a dict of label -> array to compare series.
    Unreachable steps (NaN/None) count as infinitely slow: the curve tops
    out at the reachable fraction, said in the legend.
    """
    series = rtt_ms if isinstance(rtt_ms, dict) else {label: rtt_ms}
    fig = new_figure(7.5, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    colours = list(SERIES_COLOURS)
    xmax = 1.0
    for k, (name, values) in enumerate(series.items()):
        y = _as_float(values, "rtt_ms")
        ok = np.sort(y[np.isfinite(y)])
        n = max(len(y), 1)
        frac = len(ok) / n
        text = name if frac == 1.0 else f"{name} ({100 * frac:.0f}% of steps reachable)"
        if ok.size:
            xs = np.r_[ok[0], ok]
            ys = np.r_[0.0, np.arange(1, ok.size + 1) / n]
            ax.step(
                xs, ys, where="post", color=colours[k % len(colours)], linewidth=1.5, label=text
            )
            xmax = max(xmax, float(ok[-1]))
        else:
            ax.plot([], [], color=colours[k % len(colours)], label=f"{name} (never reachable)")
    _reference_lines(ax, vacuum_ms, fibre_ms, vertical=True)
    refs = [v for v in (vacuum_ms, fibre_ms) if v is not None and np.isfinite(v)]
    xmax = max([xmax] + refs)
    ax.set_xlim(0, xmax * 1.1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("RTT (ms)")
    ax.set_ylabel("fraction of steps")
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return _finish(fig, path)


#: Line colours of multi-series plots: Okabe-Ito blue, vermillion, bluish green,
#: reddish purple, orange, sky blue (colour-blind safe; see skymesh.report.maps).
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


def time_series_plot(
    time,
    series,
    *,
    ylabel: str,
    title: str = "",
    path=None,
    references=None,
    ylim=None,
    drawstyle: str = "default",
    gap_label: str | None = None,
) -> Figure:
    """One or more series over a shared time axis (UTC when given datetimes).

    Parameters
    ----------
    time : array_like, shape (T,)
        Seconds from the start, or datetimes / ``datetime64`` / ISO strings (UTC).
    series : array_like (T,) or dict of label -> array_like (T,)
        NaN or None leave a gap.
    references : dict of label -> (value, series label or None), optional
        Horizontal dashed lines, coloured like the series they belong to
        (e.g. each pair's vacuum-bound RTT).
    ylim : (low, high), optional
    drawstyle : matplotlib drawstyle (``"steps-post"`` for per-step counts)
    gap_label : str, optional
        Where no series has a value (e.g. no terminal served), shade the span grey and
        put this reason in the legend, so an empty stretch does not read as missing data.
    """
    x, is_dt = _times(time)
    series = series if isinstance(series, dict) else {ylabel: series}
    fig = new_figure(10.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    colour_of = {}
    empty = []
    for k, (name, values) in enumerate(series.items()):
        y = _as_float(values, "series")
        if len(y) != len(x):
            raise InputError(
                f"series '{name}' has {len(y)} values but time has {len(x)}", field="series"
            )
        ok = np.isfinite(y)
        if not ok.any():  # nothing to draw: no legend entry for a line that is not there
            empty.append(str(name))
            continue
        colour_of[name] = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        # A value with no finite neighbour draws no line segment: mark the points.
        alone = ok & ~np.r_[False, ok[:-1]] & ~np.r_[ok[1:], False]
        ax.plot(
            x,
            y,
            color=colour_of[name],
            linewidth=1.2,
            label=str(name),
            drawstyle=drawstyle,
            marker="." if (len(y) <= 60 or alone.any()) else None,
            markersize=6 if alone.any() else None,
            zorder=3,
        )
    if gap_label and series and len(x) > 1:
        ys = np.vstack([_as_float(v, "series") for v in series.values()])
        none = ~np.isfinite(ys).any(axis=0)
        if none.any():
            # each step covers half the way to its neighbours (datetimes or seconds)
            mid = [x[0]] + [x[i] + (x[i + 1] - x[i]) / 2 for i in range(len(x) - 1)] + [x[-1]]
            edges = np.flatnonzero(np.diff(np.r_[0, none.astype(np.int8), 0]))
            for k, (a, b) in enumerate(zip(edges[::2], edges[1::2])):
                ax.axvspan(
                    mid[a],
                    mid[b],
                    color="#e3e3e3",
                    zorder=0,
                    label=f"no value: {gap_label}" if k == 0 else None,
                )
    if empty:
        ax.text(
            0.01,
            0.02,
            "no value in the window: " + "; ".join(empty),
            transform=ax.transAxes,
            fontsize=8,
            color="#444444",
        )
    for name, (value, owner) in (references or {}).items():
        if owner is not None and owner in series and owner not in colour_of:
            continue  # the reference of a series with no line
        if value is not None and np.isfinite(value):
            ax.axhline(
                float(value),
                color=colour_of.get(owner, "#555555"),
                linestyle="--",
                linewidth=1.0,
                label=str(name),
                zorder=2,
            )
    if len(x) > 1:
        ax.set_xlim(x[0], x[-1])
    if ylim is not None:
        ax.set_ylim(*ylim)
    _utc_axis(ax, is_dt)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    labels = ax.get_legend_handles_labels()[1]
    if len(labels) > 2:  # beside the plot, off the lines
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, framealpha=0.9)
    elif labels:
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return _finish(fig, path)


def cdf_plot(
    series, *, xlabel: str, ylabel: str = "fraction", title: str = "", path=None, dashed=()
) -> Figure:
    """Empirical CDFs of one or more samples (dict label -> values; NaN dropped).

    Labels in ``dashed`` are drawn dashed (reference curves, e.g. a vacuum bound).
    """
    fig = new_figure(7.5, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    xmax = 1.0
    for k, (name, values) in enumerate(dict(series).items()):
        y = _as_float(values, "series")
        ok = np.sort(y[np.isfinite(y)])
        if ok.size == 0:
            continue
        ax.step(
            np.r_[ok[0], ok],
            np.r_[0.0, np.arange(1, ok.size + 1) / ok.size],
            where="post",
            color=SERIES_COLOURS[k % len(SERIES_COLOURS)],
            linewidth=1.5,
            linestyle="--" if name in dashed else "-",
            label=str(name),
        )
        xmax = max(xmax, float(ok[-1]))
    ax.set_xlim(0, xmax * 1.05)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return _finish(fig, path)
