"""One subject travels through all four services over real Kafka, exactly once."""

from __future__ import annotations

import pytest
from harness import (
    Platform,
    duplicates_seen,
    new_subject,
    screen,
    seen_everywhere,
)
from sqlalchemy import update
from sqlmodel import col, select

from rescue_followup.adapters.tables import ScreeningRecord
from rescue_shared.db.platform_tables import InboxMessage, OutboxMessage
from rescue_shared.testing import eventually

pytestmark = pytest.mark.e2e

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

    # One inbox row per applied event, whatever the number of deliveries.
    async with platform["followup"].app.state.database.session() as session:
        inbox = (await session.exec(select(InboxMessage).where(
            InboxMessage.event_type == "eligibility.screened"))).all()
    assert len(inbox) == 1


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
