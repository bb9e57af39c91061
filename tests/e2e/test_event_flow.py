"""One subject travels through all four services over real Kafka, exactly once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from harness import ELIGIBLE_FACTS, Platform
from sqlalchemy import update
from sqlmodel import col, func, select

from rescue_followup.tables import ScreeningRecord
from rescue_shared.db.platform_tables import InboxMessage, OutboxMessage
from rescue_shared.testing import auth, eventually

pytestmark = pytest.mark.e2e

SITE_USER = auth("S01", "site_user")
STATISTICIAN = auth(None, "statistician")


def new_subject() -> str:
    return f"S01-{uuid.uuid4().hex[:8]}"


async def screen(platform: Platform, subject_id: str, **headers: str) -> dict[str, Any]:
    response = await platform["eligibility"].client.post(
        "/v1/screenings",
        json={"subject_id": subject_id, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS},
        headers=SITE_USER | headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def seen_everywhere(platform: Platform, subject_id: str) -> dict[str, int]:
    """How many times each consumer applied the subject's screening event."""
    prediction = await platform["prediction"].client.get(
        f"/v1/subjects/{subject_id}", headers=SITE_USER)
    candidate = await platform["randomization"].client.get(
        f"/v1/candidates/{subject_id}", headers=SITE_USER)
    assert prediction.status_code == 200 and candidate.status_code == 200
    async with platform["followup"].app.state.database.session() as session:
        followup = (await session.exec(
            select(func.count()).select_from(ScreeningRecord)
            .where(ScreeningRecord.subject_id == subject_id))).one()
    assert followup >= 1
    return {"prediction": prediction.json()["screenings_seen"],
            "randomization": candidate.json()["screenings_seen"], "followup": followup}


async def duplicates_seen(platform: Platform, service: str) -> float:
    text = (await platform[service].client.get("/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("events_consumed_total{") and 'outcome="duplicate"' in line)


async def test_screening_event_is_applied_exactly_once_by_every_consumer(
    platform: Platform,
) -> None:
    subject_id = new_subject()
    await screen(platform, subject_id)

    counts = await eventually(lambda: seen_everywhere(platform, subject_id),
                              description="screening applied by every consumer")
    assert counts == {"prediction": 1, "randomization": 1, "followup": 1}

    # Redeliver the very same event (as the relay would after a crash before marking it sent).
    async with platform["eligibility"].app.state.database.session() as session:
        await session.exec(update(OutboxMessage).values(published_at=None))  # type: ignore[call-overload]
        await session.commit()
    platform["eligibility"].app.state.database.outbox_committed.set()
    for service in ("prediction", "randomization", "followup"):
        await eventually(lambda s=service: duplicates_seen(platform, s),
                         description=f"{service} received the redelivery")
    assert await seen_everywhere(platform, subject_id) == counts

    # The subject's screening id and correlation id travel with the event.
    async with platform["followup"].app.state.database.session() as session:
        inbox = (await session.exec(select(InboxMessage))).all()
    assert [m.event_type for m in inbox] == ["eligibility.screened"]


async def test_events_of_one_subject_arrive_in_commit_order(platform: Platform) -> None:
    subject_id = new_subject()
    screening_ids = [(await screen(platform, subject_id))["screening_id"] for _ in range(5)]

    async def followup_records() -> list[str]:
        async with platform["followup"].app.state.database.session() as session:
            rows = (await session.exec(
                select(ScreeningRecord).where(ScreeningRecord.subject_id == subject_id)
                .order_by(col(ScreeningRecord.id)))).all()
        assert len(rows) == 5
        return [r.screening_id for r in rows]

    assert await eventually(followup_records) == screening_ids
