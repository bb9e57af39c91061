"""A data query raised by hand on a screening: the monitor opens it, the site answers, the
monitor closes it; every step is audited and announced (both engines)."""

from __future__ import annotations

import json

import pytest
from harness import ELIGIBLE_FACTS
from sqlmodel import col, select

from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
MONITOR = auth(None, "monitor")
SITE_USER = auth("S01", "site_user")


async def test_a_query_on_a_screening_is_raised_answered_and_closed(
    eligibility: RunningService,
) -> None:
    screened = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": "S01-0001", "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    assert screened.status_code == 201, screened.text
    opened = await eligibility.client.post("/v1/queries", headers=MONITOR, json={
        "subject_id": "S01-0001", "field": "ecog",
        "message": "ECOG differs from the clinic letter; please check the source."})
    assert opened.status_code == 201, opened.text
    query_id = opened.json()["id"]
    answer = await eligibility.client.post(
        f"/v1/queries/{query_id}/answer", headers=SITE_USER,
        json={"text": "clinic letter re-read: ECOG 1 is right"})
    assert answer.json()["state"] == "answered"
    assert (await eligibility.client.get("/v1/queries", headers=auth("S02", "site_user"))
            ).json() == []
    closed = await eligibility.client.post(f"/v1/queries/{query_id}/close", headers=MONITOR,
                                           json={"text": "agreed with the source"})
    assert closed.json()["state"] == "closed"

    async with eligibility.app.state.database.session() as session:
        events = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.event_type == "eligibility.query_changed")
            .order_by(col(OutboxMessage.id)))).all()
    assert [json.loads(e.value)["payload"]["action"] for e in events] == [
        "open", "answer", "close"]
    trail = (await eligibility.client.get("/v1/audit", params={"subject_id": "S01-0001"},
                                          headers=MONITOR)).json()
    assert [e["action"] for e in trail["entries"] if e["action"].startswith("query.")] == [
        "query.open", "query.answer", "query.close"]
