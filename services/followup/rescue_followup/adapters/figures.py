"""Kaplan-Meier figure by arm: CI bands, censor marks and a numbers-at-risk table, as PNG or SVG.

Uses matplotlib's object API (`Figure`, Agg canvas), never pyplot's global figure state, so that
concurrent requests cannot draw into each other's figures. Curves are lifelines' own plots; the
at-risk table shows exactly the numbers `analysis.numbers_at_risk` reports (AVAL >= t), so the
figure and the JSON read-out cannot disagree. The x axis is in months (days / 30.4375).
Figures are drawn one at a time (`draw_km_figure`: matplotlib keeps some process-wide state).
"""

from __future__ import annotations

import io
import threading
from typing import Literal

import matplotlib

matplotlib.use("Agg")

from lifelines import KaplanMeierFitter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rescue_followup.domain.analysis import (
    AnalysisOptions,
    Population,
    Records,
    analysis_frame,
    numbers_at_risk,
)

_COLOURS = ("#1f77b4", "#d62728")
_FIGURE_LOCK = threading.Lock()
POPULATION_TITLES = {"itt": "intention to treat",
                     "excluding_invalidated": "excluding invalidated allocations"}


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
        kmf = KaplanMeierFitter(alpha=opts.alpha).fit(
            part["time"] / opts.days_per_month, part["event"], label=f"{arm} (n={len(part)})"
        )
        kmf.plot_survival_function(
            ax=curve_ax, ci_show=True, show_censors=True, color=colour, ci_alpha=0.2
        )
    curve_ax.set_ylim(0, 1.02)
    curve_ax.set_ylabel("Progression-free survival")
    curve_ax.set_xlabel("")
    curve_ax.legend(loc="upper right")
    curve_ax.grid(alpha=0.3)
    if title:
        curve_ax.set_title(title)

    ticks = [p.months for p in at_risk]
    table_ax.set_xticks(ticks)
    for ax in (curve_ax, table_ax):
        ax.minorticks_off()  # pandas (behind lifelines' plot) adds minor ticks off the grid
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
