"""The stateless KELIM calculators: one series for a clinician, a cohort for a statistician."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
CLINICIAN = auth("S01", "investigator")
STATISTICIAN = auth(None, "statistician")
START = date(2026, 1, 5)


def series(points: list[tuple[int, float]], **extra: Any) -> dict[str, Any]:
    return {"chemotherapy_start_date": str(START), "measurements": [
        {"date": str(START + timedelta(days=d)), "value": v, "unit": "U/mL"} for d, v in points],
        **extra}


async def test_the_calculator_gives_k_half_life_and_gcig_for_the_reference_series(
    prediction: RunningService,
) -> None:
    body = series([(0, 1000), (21, 349.938), (42, 122.456), (63, 42.852)])
    response = await prediction.client.post("/v1/kelim", json=body, headers=CLINICIAN)
    assert response.status_code == 200, response.text
    result = response.json()
    kinetics = result["kinetics"]
    assert float(f"{kinetics['k_per_day']:.4g}") == 0.05
    assert kinetics["half_life_days"] == pytest.approx(13.863, abs=5e-4)
    assert kinetics["n_used"] == 3  # day 63 is after the 50-day window
    assert kinetics["points_excluded"] == [{"day": 63, "value_u_ml": 42.852,
                                            "reason": "outside_window"}]
    assert result["gcig"]["status"] == "response"
    assert result["protocol_version"] == "prediction-v1" and result["assumptions"]
    # nothing is stored: the calculator knows no subject
    assert (await prediction.client.get("/v1/subjects/anyone/ca125",
                                        headers=STATISTICIAN)).status_code == 404


async def test_the_calculator_uses_the_labs_uln_and_refuses_bad_values(
    prediction: RunningService,
) -> None:
    body = series([(0, 90), (21, 40), (42, 30), (70, 29)])
    gcig = (await prediction.client.post("/v1/kelim", json=body, headers=CLINICIAN)).json()["gcig"]
    assert gcig["status"] == "complete_response"  # default ULN 35: 90 >= 70 is evaluable
    body["uln_u_ml"] = 50
    gcig = (await prediction.client.post("/v1/kelim", json=body, headers=CLINICIAN)).json()["gcig"]
    assert gcig["status"] == "not_evaluable" and "2 x ULN (100 U/mL)" in gcig["reasons"][0]
    bad = series([(0, 100), (21, 50)])
    bad["measurements"][1]["value"] = -1
    response = await prediction.client.post("/v1/kelim", json=bad, headers=CLINICIAN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "measurements.1.value"
    twice = series([(0, 100), (0, 90), (21, 40), (42, 20)])
    response = await prediction.client.post("/v1/kelim", json=twice, headers=CLINICIAN)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "measurements.1.value", "rule": "conflict",
                                          "message": f"two different values on {START}"}]
    assert (await prediction.client.post("/v1/kelim", json=series([]))).status_code == 401


async def test_a_cohort_batch_matches_the_single_series_fit(prediction: RunningService) -> None:
    rng = np.random.default_rng(20261125)
    cohort = []
    for i in range(300):
        k = float(rng.uniform(0.005, 0.09))
        days = sorted({0, *rng.integers(5, 50, size=4).tolist()})
        noise = rng.normal(0, 0.1, size=len(days))
        cohort.append({"id": f"P{i:03d}", **series(
            [(d, round(800 * math.exp(-k * d + e), 3)) for d, e in zip(days, noise, strict=True)])})
    cohort.append({"id": "short", **series([(0, 500), (21, 200)])})
    response = await prediction.client.post("/v1/kelim/batch", json={"series": cohort},
                                            headers=STATISTICIAN)
    assert response.status_code == 200, response.text
    batch = response.json()
    assert batch["k_ref_per_day"] == 0.037 and batch["window_days"] == 50
    assert [r["id"] for r in batch["results"]] == [s["id"] for s in cohort]
    assert batch["results"][-1]["status"] == "insufficient_data"
    assert "needs >= 3" in batch["results"][-1]["missing"]
    for i in (0, 17, 299):
        one = (await prediction.client.post(
            "/v1/kelim", json={k: v for k, v in cohort[i].items() if k != "id"},
            headers=STATISTICIAN)).json()["kinetics"]
        row = batch["results"][i]
        assert row["k_per_day"] == pytest.approx(one["k_per_day"], rel=1e-9)
        assert row["r_squared"] == pytest.approx(one["r_squared"], rel=1e-9)
        assert row["n_used"] == one["n_used"]


async def test_a_batch_names_the_bad_field_and_refuses_more_than_the_limit(
    prediction: RunningService,
) -> None:
    bad = [{"id": "a", **series([(0, 100), (21, 50), (42, 25)])},
           {"id": "b", **series([(0, 100), (21, 50), (42, 25)])}]
    bad[1]["measurements"][2]["unit"] = "IU"
    response = await prediction.client.post("/v1/kelim/batch", json={"series": bad},
                                            headers=STATISTICIAN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "series.1.measurements.2.unit"

    tiny = {"id": "x", "chemotherapy_start_date": str(START), "measurements": []}
    too_many = await prediction.client.post("/v1/kelim/batch",
                                            json={"series": [tiny] * 10_001},
                                            headers=STATISTICIAN)
    assert too_many.status_code == 413 and "10000" in too_many.json()["detail"]
