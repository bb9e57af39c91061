"""Prediction's automatic data query: a screening reporting a GCIG CA-125 response that the
CA-125 values received do not show opens a query; a correction of the values that shows the
response closes it, linking nothing but stating why (both engines)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
START = "2026-03-02"
SITE_USER = auth("S01", "site_user")
MONITOR = auth(None, "monitor")
# An AGO-positive candidate (as in conftest) whose screening reports a GCIG CA-125 response.
CLAIMS_RESPONSE: dict[str, Any] = {
    "ecog": 0, "ascites_ml": 0, "residual_disease_primary_surgery": "none",
    "figo_stage_initial": "IIIC", "platinum_free_interval_months": 14.0,
    "ca125_at_recurrence_u_ml": 300.0, "age_years": 57, "nact_response_gcig_ca125": True}
Screen = Callable[..., Awaitable[None]]


def day(n: int) -> str:
    return str(date.fromisoformat(START) + timedelta(days=n))


async def post(service: RunningService, subject_id: str, points: list[tuple[int, float]]) -> None:
    response = await service.client.post(
        f"/v1/subjects/{subject_id}/ca125", headers=SITE_USER,
        json={"chemotherapy_start_date": START,
              "measurements": [{"date": day(d), "value": v, "unit": "U/mL"} for d, v in points]})
    assert response.status_code in (200, 201), response.text


async def queries(service: RunningService, **params: Any) -> list[dict[str, Any]]:
    response = await service.client.get("/v1/queries", params=params, headers=MONITOR)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_a_claimed_gcig_response_the_series_does_not_show_opens_a_query(
    prediction: RunningService, screened: Screen,
) -> None:
    await screened("S01-0001", **CLAIMS_RESPONSE)
    await screened("S01-0002", **CLAIMS_RESPONSE)
    await post(prediction, "S01-0002", [(0, 800.0), (21, 300.0), (42, 150.0), (63, 90.0)])
    await post(prediction, "S01-0001", [(0, 800.0), (21, 700.0), (42, 650.0), (63, 600.0)])

    (query,) = await queries(prediction)
    assert (query["subject_id"], query["check"], query["field"], query["state"]) == (
        "S01-0001", "gcig_response_vs_ca125", "nact_response_gcig_ca125", "open")
    answered = await prediction.client.post(
        f"/v1/queries/{query['id']}/answer", headers=SITE_USER,
        json={"text": "lab re-sent the series: the later values were typed wrongly"})
    assert answered.json()["state"] == "answered"

    # The site corrects the values: the series now shows the response, the system closes it.
    for d, v in ((21, 380.0), (42, 200.0), (63, 120.0)):
        corrected = await prediction.client.post(
            "/v1/subjects/S01-0001/ca125/corrections", headers=SITE_USER,
            json={"date": day(d), "value": v, "unit": "U/mL",
                  "reason": "value typed from the wrong report"})
        assert corrected.status_code in (200, 201), corrected.text
    (closed,) = await queries(prediction)
    assert closed["state"] == "closed"
    assert closed["steps"][-1]["actor"] == "system:automatic-check"
