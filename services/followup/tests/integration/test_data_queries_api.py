"""Data queries on follow-up's records as monitors and sites work them: raised by the automatic
checks or by hand, answered by the site, closed or re-opened by the monitor, every step kept and
announced; a correction that resolves an automatic query closes it and links to it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlmodel import col, select

from rescue_followup.adapters.tables import Assessment
from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
TODAY = dt.date.today()
MONITOR = auth(None, "monitor")
SITE = auth("S01", "site_user")
RANDOMIZED = TODAY - dt.timedelta(days=200)


def recist(day: dt.date, **extra: Any) -> dict[str, Any]:
    return {"type": "recist", "date": day.isoformat(), "target_lesion_sum_mm": 50.0,
            "new_lesions": False, "non_target_progression": False, **extra}


async def legacy_record(followup: RunningService, subject_id: str, day: dt.date) -> str:
    """A record loaded straight into the database (before today's entry rules existed)."""
    record_id = str(uuid.uuid4())
    async with followup.app.state.database.session() as session:
        session.add(Assessment(
            id=record_id, subject_id=subject_id, site_id="S01", type="recist",
            assessment_date=day, data={"target_lesion_sum_mm": 50.0, "new_lesions": False,
                                       "non_target_progression": False},
            recorded_by="migration", created_at=dt.datetime.now(dt.UTC)))
        await session.commit()
    return record_id


async def announced(followup: RunningService) -> list[dict[str, Any]]:
    async with followup.app.state.database.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.event_type == "followup.query_changed")
            .order_by(col(OutboxMessage.id)))).all()
    return [json.loads(r.value)["payload"] for r in rows]


async def queries(followup: RunningService, headers: dict[str, str] = MONITOR,
                  **params: Any) -> list[dict[str, Any]]:
    response = await followup.client.get("/v1/queries", params=params, headers=headers)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def test_an_automatic_query_fires_on_its_case_and_a_correction_closes_it(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    await register("S01-0002", randomized=RANDOMIZED)  # clean
    assert (await record("S01-0002", recist(RANDOMIZED + dt.timedelta(days=90)))).status_code \
        == 201
    early = await legacy_record(followup, "S01-0001", RANDOMIZED - dt.timedelta(days=5))

    assert (await followup.client.post("/v1/queries/checks", headers=SITE)).status_code == 403
    run = await followup.client.post("/v1/queries/checks", headers=MONITOR)
    assert run.status_code == 200 and run.json() == {"changed": 1}
    (query,) = await queries(followup)
    assert (query["subject_id"], query["check"], query["record_id"], query["state"]) == (
        "S01-0001", "recist_before_randomization", early, "open")
    assert (await followup.client.post("/v1/queries/checks", headers=MONITOR)).json() == {
        "changed": 0}  # one query per discrepancy
    assert [q["id"] for q in await queries(followup, SITE)] == [query["id"]]
    assert await queries(followup, auth("S02", "site_user")) == []

    fixed = await record("S01-0001", recist(RANDOMIZED + dt.timedelta(days=2), supersedes=early,
                                            correction_reason="date typed from the wrong scan"))
    assert fixed.status_code == 201, fixed.text
    (closed,) = await queries(followup, state="closed")
    assert closed["steps"][-1]["correction_ref"] == fixed.json()["assessment_id"]
    assert closed["steps"][-1]["actor"] == "system:automatic-check"
    assert [(e["action"], e["state"]) for e in await announced(followup)] == [
        ("open", "open"), ("close", "closed")]


async def test_a_manual_query_goes_open_answered_reopened_closed_by_the_right_people(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    opened = await followup.client.post("/v1/queries", headers=MONITOR, json={
        "subject_id": "S01-0001", "field": "target_lesion_sum_mm",
        "message": "The sum differs from the radiology report of that day."})
    assert opened.status_code == 201, opened.text
    query_id = opened.json()["id"]
    assert opened.headers["location"] == f"/v1/queries/{query_id}"

    def step(action: str, headers: dict[str, str], text: str = "checked the source") -> Any:
        return followup.client.post(f"/v1/queries/{query_id}/{action}", headers=headers,
                                    json={"text": text})

    assert (await step("close", SITE)).status_code == 403
    assert (await step("answer", MONITOR)).status_code == 403
    assert (await step("reopen", MONITOR)).status_code == 422  # it is open
    assert (await step("answer", auth("S02", "site_user"))).status_code == 404
    assert (await step("answer", SITE, "report re-read: 52 mm is right")).json()["state"] == (
        "answered")
    assert (await step("reopen", MONITOR, "the report says 57 mm")).json()["state"] == "open"
    assert (await step("answer", auth("S01", "investigator"))).json()["state"] == "answered"
    closed = (await step("close", MONITOR, "agreed")).json()
    assert closed["state"] == "closed"
    assert [s["action"] for s in closed["steps"]] == ["open", "answer", "reopen", "answer",
                                                       "close"]
    assert [e["action"] for e in await announced(followup)] == [
        "open", "answer", "reopen", "answer", "close"]
    assert await queries(followup, state="open") == []
    assert len(await queries(followup, subject_id="S01-0001", min_age_days=0)) == 1
    assert await queries(followup, min_age_days=1) == []
    assert (await followup.client.post("/v1/queries", headers=SITE, json={
        "subject_id": "S01-0001", "field": "x", "message": "m"})).status_code == 403
    assert (await followup.client.post("/v1/queries", headers=MONITOR, json={
        "subject_id": "S09-0404", "field": "x", "message": "m"})).status_code == 404
