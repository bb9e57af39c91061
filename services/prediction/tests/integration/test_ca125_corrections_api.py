"""Correcting a stored CA-125 value: the earlier value kept, the prediction recomputed."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
SITE_USER = auth("S01", "site_user")
START = "2026-01-05"
#: K = 0.05 /day exactly: a favourable decline (K / K_ref = 1.35).
CLEAN = [(0, 1000.0), (14, 1000 * math.exp(-0.7)), (28, 1000 * math.exp(-1.4)),
         (42, 1000 * math.exp(-2.1))]
REASON = "transcription error: the laboratory report reads 900 U/mL"


def day(n: int) -> str:
    return str(date.fromisoformat(START) + timedelta(days=n))


async def send_series(service: RunningService, subject_id: str) -> None:
    response = await service.client.post(
        f"/v1/subjects/{subject_id}/ca125", headers=SITE_USER,
        json={"chemotherapy_start_date": START, "measurements": [
            {"date": day(d), "value": v, "unit": "U/mL"} for d, v in CLEAN]})
    assert response.status_code == 201, response.text


async def correct(service: RunningService, subject_id: str, headers: dict[str, str] = SITE_USER,
                  **body: Any) -> Any:
    return await service.client.post(
        f"/v1/subjects/{subject_id}/ca125/corrections", headers=headers,
        json={"date": day(42), "value": 900.0, "unit": "kU/L", "reason": REASON} | body)


async def staged_versions(service: RunningService, subject_id: str) -> list[int]:
    async with service.app.state.database.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.event_type == "prediction.completed",
            OutboxMessage.message_key == subject_id).order_by(col(OutboxMessage.id)))).all()
    return [json.loads(r.value)["payload"]["version"] for r in rows]


async def test_a_correction_keeps_the_earlier_value_and_supersedes_the_prediction(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0201")
    await send_series(prediction, "S01-0201")
    before = (await prediction.client.get("/v1/subjects/S01-0201/prediction",
                                          headers=SITE_USER)).json()
    assert before["version"] == 1
    assert before["classification"] == "highly_likely_complete_resection"

    response = await correct(prediction, "S01-0201")

    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["correction"]["previous_value_u_ml"] == pytest.approx(CLEAN[3][1])
    assert receipt["correction"]["value_u_ml"] == 900.0
    assert receipt["correction"]["original"] == "900 kU/L"
    assert receipt["correction"]["reason"] == REASON
    # A value of 900 on day 42 flattens the decline: K falls below K_ref, a new version says so.
    assert receipt["new_prediction_version"] is True
    assert receipt["prediction"]["version"] == 2
    assert receipt["prediction"]["classification"] == "not_highly_likely"
    assert receipt["prediction"]["kelim"]["k_per_day"] < 0.037
    values = (await prediction.client.get("/v1/subjects/S01-0201/ca125",
                                          headers=SITE_USER)).json()
    assert [v["value_u_ml"] for v in values][3] == 900.0
    history = (await prediction.client.get("/v1/subjects/S01-0201/ca125/corrections",
                                           headers=auth(None, "monitor"))).json()
    assert [(h["date"], h["previous_value_u_ml"]) for h in history] == [
        (day(42), pytest.approx(CLEAN[3][1]))]
    assert await staged_versions(prediction, "S01-0201") == [1, 2]


async def test_corrections_that_cannot_be_made_are_refused_and_change_nothing(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0202")
    await screened("S02-0202", site_id="S02")
    await send_series(prediction, "S01-0202")

    short = await correct(prediction, "S01-0202", reason="typo")
    assert short.status_code == 422
    assert [e["field"] for e in short.json()["errors"]] == ["reason"]
    no_value = await correct(prediction, "S01-0202", date=day(7))
    assert no_value.status_code == 404
    assert no_value.json()["errors"][0]["field"] == "date"
    unchanged = await correct(prediction, "S01-0202", value=CLEAN[3][1], unit="U/mL")
    assert unchanged.status_code == 409
    other_site = await correct(prediction, "S02-0202")
    assert other_site.status_code == 404
    monitor = await correct(prediction, "S01-0202", headers=auth(None, "monitor"))
    assert monitor.status_code == 403

    assert (await prediction.client.get("/v1/subjects/S01-0202/ca125/corrections",
                                        headers=SITE_USER)).json() == []
    assert await staged_versions(prediction, "S01-0202") == [1]
