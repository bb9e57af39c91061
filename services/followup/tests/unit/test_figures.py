from __future__ import annotations

from rescue_followup.adapters.figures import render_km_figure
from rescue_followup.domain.adtte import AdtteRow
from rescue_followup.domain.analysis import AnalysisOptions

WEEKS = AnalysisOptions(
    experimental_arm="PLACEBO", control_arm="6-MP", days_per_month=1.0, at_risk_step_months=5
)


def test_png_and_svg(freireich: list[AdtteRow]) -> None:
    png = render_km_figure(freireich, options=WEEKS, title="Freireich")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    svg = render_km_figure(freireich, options=WEEKS, fmt="svg").decode()
    assert "<svg" in svg
    assert "Number at risk" in svg and "PLACEBO (n=21)" in svg


def test_no_pyplot_figure_is_left_open(freireich: list[AdtteRow]) -> None:
    import matplotlib.pyplot as plt

    render_km_figure(freireich, options=WEEKS)
    assert plt.get_fignums() == []
