"""The CA-125 curve of a subject: values on a log axis, the fitted decline, the window, the ULN.

Drawn with matplotlib's object API on the Agg canvas (no pyplot global state, no display).
SVG elements carry ids (``ca125-used``, ``ca125-excluded``, ``fitted-decline``,
``kelim-window``, ``uln``) and text stays text, so a reader or a test can find each part.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Literal

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

from rescue_prediction.domain.kinetics import KineticsResult
from rescue_prediction.domain.units import NormalisedCa125

PlotFormat = Literal["png", "svg"]


# matplotlib places dates through its unit converters, which its type stubs do not describe
# (they say float): dates go in as numpy datetime64 arrays (the same converter, the same numbers)
# and through the typed helpers below.
_date_formatter: Callable[[str], Formatter] = DateFormatter


def _days(dates: Iterable[date]) -> npt.NDArray[np.datetime64]:
    return np.array(list(dates), dtype="datetime64[D]")


def _x_position(ax: Axes) -> Callable[[date], float]:
    """A date as an x position of `ax` (what `axvspan` itself does with a date)."""
    convert: Callable[[date], float] = ax.xaxis.convert_units
    return convert


def render_ca125_plot(
    subject_id: str, values: list[NormalisedCa125], start: date | None,
    fit: KineticsResult | None, uln_u_ml: float, fmt: PlotFormat,
) -> bytes:
    fig = Figure(figsize=(7.5, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_yscale("log")
    used_days = {p.day for p in fit.points_used} if fit is not None else set()
    used = [v for v in values if start is not None and (v.effective_date - start).days in used_days]
    excluded = [v for v in values if v not in used]
    if used:
        (line,) = ax.plot(_days(v.effective_date for v in used), [v.value_u_ml for v in used], "o",
                          color="#1f4e79", label="CA-125 used in the fit")
        line.set_gid("ca125-used")
    if excluded:
        (line,) = ax.plot(_days(v.effective_date for v in excluded),
                          [v.value_u_ml for v in excluded], "x", color="#888888",
                          label="CA-125 not used (outside window / censored)")
        line.set_gid("ca125-excluded")
    if start is not None and fit is not None:
        to_x = _x_position(ax)
        span = ax.axvspan(to_x(start), to_x(start + timedelta(days=fit.window_days)),
                          color="#dbe9f6",
                          alpha=0.6, label=f"fit window: day 0-{fit.window_days:g}")
        span.set_gid("kelim-window")
        if fit.status == "estimated" and fit.k_per_day is not None and fit.c0_fitted_u_ml:
            days = [d / 4 for d in range(int(min(p.day for p in fit.points_used) * 4),
                                         int(fit.window_days * 4) + 1)]
            origin = datetime.combine(start, time())
            (curve,) = ax.plot(
                np.array([origin + timedelta(days=d) for d in days], dtype="datetime64[us]"),
                [fit.c0_fitted_u_ml * math.exp(-fit.k_per_day * d) for d in days], "-",
                color="#c0392b",
                label=f"fitted decline K = {fit.k_per_day:.4g}/day "
                      f"(K/K_ref {fit.standardized:.3g})")
            curve.set_gid("fitted-decline")
    uln = ax.axhline(uln_u_ml, color="#27ae60", linestyle="--", label=f"ULN {uln_u_ml:g} U/mL")
    uln.set_gid("uln")
    ax.set_title(f"CA-125 of {subject_id}" + (f" (chemotherapy start {start})" if start else ""))
    ax.set_ylabel("CA-125 (U/mL, log scale)")
    ax.set_xlabel("date")
    ax.xaxis.set_major_formatter(_date_formatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    ax.legend(loc="best", fontsize="small")
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "rescue"}):
        fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()
