"""Kaplan-Meier figure by arm: CI bands, censor marks and a numbers-at-risk table, as PNG or SVG.

Uses matplotlib's object API (`Figure`, Agg canvas), never pyplot's global figure state, so that
concurrent requests cannot draw into each other's figures (and pyplot, lifelines' plotting and
scipy are never loaded: some 40 MB the service would keep). The curves, bands and the at-risk
table are the analysis' own (`analysis.kaplan_meier`, `analysis.numbers_at_risk`, AVAL >= t),
so the figure and the JSON read-out cannot disagree; drawn as lifelines draws them: steps from
S = 1 at time 0, the band where R has none (S = 1 or 0) closed on the curve, '+' at censorings.
The x axis is in months (days / 30.4375). Figures are drawn one at a time (`draw_km_figure`:
matplotlib keeps some process-wide state).
"""

from __future__ import annotations

import io
import threading
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rescue_followup.domain.analysis import (
    AnalysisOptions,
    Population,
    Records,
    analysis_frame,
    kaplan_meier,
    numbers_at_risk,
)

_COLOURS = ("#1f77b4", "#d62728")
_FIGURE_LOCK = threading.Lock()
POPULATION_TITLES = {"itt": "intention to treat",
                     "excluding_invalidated": "excluding invalidated allocations"}


def _draw_arm(ax: Axes, time: np.ndarray, event: np.ndarray, label: str, colour: str,
              opts: AnalysisOptions) -> None:
    """One arm's KM steps, its band and its censor marks, in months."""
    curve = kaplan_meier(time, event, opts.alpha)
    months = np.concatenate(([0.0], curve.time / opts.days_per_month))
    survival = np.concatenate(([1.0], curve.survival))
    lower, upper = (np.concatenate(([1.0], np.where(np.isnan(b), curve.survival, b)))
                    for b in (curve.lower, curve.upper))
    ax.step(months, survival, where="post", color=colour, label=label)
    ax.fill_between(months, lower, upper, step="post", color=colour, alpha=0.2, linewidth=0)
    censored = np.unique(time[event == 0])
    at = np.searchsorted(curve.time, censored)
    ax.plot(censored / opts.days_per_month, curve.survival[at], linestyle="none", marker="+",
            markersize=6, color=colour)


def render_km_figure(
    records: Records,
    *,
    population: Population = "itt",
    options: AnalysisOptions | None = None,
    fmt: Literal["png", "svg"] = "png",
    title: str | None = None,
    dpi: int = 150,
) -> bytes:
    """KM curves of both arms with 95 % CI bands, censor marks '+' and numbers at risk."""
    opts = options or AnalysisOptions()
    frame = analysis_frame(records, population, opts)
    at_risk = numbers_at_risk(frame, opts)
    arms = (opts.experimental_arm, opts.control_arm)

    fig = Figure(figsize=(8, 6), layout="constrained")
    FigureCanvasAgg(fig)
    curve_ax, table_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    for arm, colour in zip(arms, _COLOURS, strict=True):
        part = frame[frame["arm"] == arm]
        _draw_arm(curve_ax, part["time"].to_numpy(float), part["event"].to_numpy(float),
                  f"{arm} (n={len(part)})", colour, opts)
    curve_ax.set_ylim(0, 1.02)
    curve_ax.set_ylabel("Progression-free survival")
    curve_ax.set_xlabel("")
    curve_ax.legend(loc="upper right")
    curve_ax.grid(alpha=0.3)
    if title:
        curve_ax.set_title(title)

    ticks = [p.months for p in at_risk]
    table_ax.set_xticks(ticks)
    x_max = max(ticks[-1], float(frame["time"].max()) / opts.days_per_month)
    table_ax.set_xlim(-0.04 * x_max, 1.03 * x_max)
    table_ax.set_ylim(-0.5, len(arms) - 0.5)
    table_ax.set_yticks(range(len(arms)), labels=list(reversed(arms)))
    for row, (arm, colour) in enumerate(zip(reversed(arms), reversed(_COLOURS), strict=True)):
        for point in at_risk:
            table_ax.text(
                point.months, row, str(point.at_risk[arm]), ha="center", va="center", color=colour
            )
    table_ax.set_title("Number at risk", loc="left", fontsize="small")
    table_ax.set_xlabel("Months since randomization")
    table_ax.tick_params(axis="y", length=0, pad=14)
    for side in ("top", "right", "left"):
        table_ax.spines[side].set_visible(False)

    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


def draw_km_figure(records: Records, population: Population, fmt: Literal["png", "svg"]) -> bytes:
    """The service's KM figure of a population, titled with it; one drawing at a time."""
    title = f"Progression-free survival by arm ({POPULATION_TITLES[population]})"
    with _FIGURE_LOCK:
        return render_km_figure(records, population=population, fmt=fmt, title=title)
