"""POST /v1/analysis/pfs with R's veteran data: R's figures and the conventions, over HTTP."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


async def test_posted_veteran_data_give_r_figures(followup: RunningService) -> None:
    text = (FIXTURES / "veteran_adtte.csv").read_text()
    response = await followup.client.post(
        "/v1/analysis/pfs", content=text.encode(),
        headers=auth(None, "statistician") | {"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    result = response.json()
    with (FIXTURES / "veteran_expected.csv").open() as f:
        r = {row["key"]: row["value"] for row in csv.DictReader(f)}
    test, standard = result["arms"]
    assert test["median"]["days"] == float(r["SCS_CHEMO.median"]) == 52.5
    assert standard["median"]["days"] == float(r["CHEMO.median"])
    assert result["cox"]["hazard_ratio"] == pytest.approx(float(r["cox.hazard_ratio"]), rel=1e-9)
    assert result["cox_stratified"]["ci_upper"] == pytest.approx(
        float(r["cox_stratified.upper"]), rel=1e-9)
    assert result["stratified_logrank"]["test_statistic"] == pytest.approx(
        float(r["stratified_logrank.chisq"]), rel=1e-9)
    assert standard["landmarks"][2]["survival"] is None  # no follow-up at 24 months
    conventions = result["conventions"]
    assert (conventions["km_interval"], conventions["cox_ties"]) == ("log-log", "efron")
    assert "midpoint" in conventions["median_rule"]
