"""The reliability rules, shown on the real services, a real broker and real databases.

Outbox survives a broker outage; a consumer that dies before committing its offset applies the
redelivery once; poison messages go to the dead-letter topic and the consumer keeps going; a
rolled-back transaction publishes nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from harness import (
    SITE_USER,
    Platform,
    duplicates_seen,
    new_subject,
    screen,
    seen_everywhere,
    start_platform,
)
from sqlalchemy.exc import OperationalError
from sqlmodel import col, func, select

from rescue_shared.contracts import new_event
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.db.platform_tables import InboxMessage, OutboxMessage
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.messaging.dead_letters import read_dead_letters, replay
from rescue_shared.testing import eventually

pytestmark = pytest.mark.e2e


async def unpublished(platform: Platform) -> int:
    async with platform["eligibility"].app.state.database.session() as session:
        return (await session.exec(
            select(func.count()).select_from(OutboxMessage)
            .where(col(OutboxMessage.published_at).is_(None)))).one()


async def test_events_committed_while_the_broker_is_down_go_out_after_it_restarts(
    restartable_broker: Any, topic_namespace: str, database_urls: dict[str, str],
) -> None:
    async with start_platform(restartable_broker.bootstrap, topic_namespace,
                              database_urls) as platform:
        before = new_subject()
        await screen(platform, before)
        await eventually(lambda: seen_everywhere(platform, before))

        await restartable_broker.stop()
        during = [new_subject() for _ in range(3)]
        for subject_id in during:
            await screen(platform, subject_id)  # the hospital is not affected by the outage
        assert await unpublished(platform) == 3

        await restartable_broker.start()
        for subject_id in during:
            counts = await eventually(lambda s=subject_id: seen_everywhere(platform, s),
                                      timeout=60, description=f"{subject_id} delivered")
            assert counts == {"prediction": 1, "randomization": 1, "followup": 1}
        assert await unpublished(platform) == 0
        assert await seen_everywhere(platform, before) == {
            "prediction": 1, "randomization": 1, "followup": 1}


async def test_consumer_dying_before_its_offset_commit_applies_the_redelivery_once(
    platform: Platform,
) -> None:
    consumer = platform["followup"].app.state.consumer
    real_commit = consumer.commit_applied
    crashes: list[int] = []

    async def die_before_commit() -> None:
        if not crashes:
            crashes.append(1)
            consumer._pending.clear()  # a dead process forgets what it was about to commit
            raise RuntimeError("simulated crash after the database commit")
        await real_commit()

    consumer.commit_applied = die_before_commit
    subject_id = new_subject()
    await screen(platform, subject_id)

    await eventually(lambda: duplicates_seen(platform, "followup"), timeout=60,
                     description="the uncommitted message was redelivered")
    assert crashes == [1]
    assert (await seen_everywhere(platform, subject_id))["followup"] == 1


def dead_letter_topic(platform: Platform) -> str:
    return f"{platform.namespace}rescue.eligibility.v1.DLT"


async def wait_for_dead_letters(platform: Platform, minimum: int) -> list[Any]:
    topic = dead_letter_topic(platform)
    reader = AIOKafkaConsumer(topic, bootstrap_servers=platform.bootstrap,
                              auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    records: list[Any] = []
    try:
        async def enough() -> bool:
            for batch in (await reader.getmany(timeout_ms=200)).values():
                records.extend(batch)
            return len(records) >= minimum

        await eventually(enough, timeout=60, description=f"{minimum} dead letters")
    finally:
        await reader.stop()
    return records


async def test_malformed_messages_go_to_the_dead_letter_topic_and_consumers_keep_going(
    platform: Platform,
) -> None:
    topic = f"{platform.namespace}rescue.eligibility.v1"
    invalid_payload = json.loads(new_event(
        SubjectScreened(screening_id=uuid.uuid4(), screening_date=date(2026, 3, 2),
                        protocol_version="1", outcome="eligible", awaiting_prediction=True),
        producer="eligibility", trial_id="NCT07295132", site_id="S01", subject_id="S01-bad",
        correlation_id="c",
    ).model_dump_json())
    invalid_payload["payload"]["outcome"] = "probably"
    producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{not json", key=b"S01-bad")
        await producer.send_and_wait(topic, json.dumps(invalid_payload).encode(), key=b"S01-bad")
    finally:
        await producer.stop()

    subject_id = new_subject()
    await screen(platform, subject_id)
    assert await eventually(lambda: seen_everywhere(platform, subject_id)) == {
        "prediction": 1, "randomization": 1, "followup": 1}

    dead = await wait_for_dead_letters(platform, minimum=6)  # 2 poison messages x 3 consumer groups
    by_group: dict[str, list[dict[str, str]]] = {}
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}
        by_group.setdefault(headers["dlt.consumer_group"], []).append(headers)
    assert sorted(by_group) == sorted(
        f"{platform.namespace}{name}" for name in ("prediction", "randomization", "followup"))
    for headers in by_group.values():
        assert [h["dlt.origin.topic"] for h in headers] == [topic, topic]
        assert {h["dlt.error_type"] for h in headers} == {"ContractError"}
        assert "not JSON" in headers[0]["dlt.error"]
        assert "outcome" in headers[1]["dlt.error"]


async def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(
    platform: Platform,
) -> None:
    consumer = platform["followup"].app.state.consumer
    real_handler = consumer._handlers[SubjectScreened]
    doomed = new_subject()
    attempts: list[str] = []

    async def fail_for_doomed(uow: UnitOfWork, event: Any) -> None:
        if event.subject_id == doomed:
            attempts.append(event.subject_id)
            raise ValueError("cannot apply this screening")
        await real_handler(uow, event)

    consumer._handlers[SubjectScreened] = fail_for_doomed
    await screen(platform, doomed)
    healthy = new_subject()
    await screen(platform, healthy)

    assert (await eventually(lambda: seen_everywhere(platform, healthy)))["followup"] == 1
    dead = await wait_for_dead_letters(platform, minimum=1)
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["dlt.error"] == "cannot apply this screening"
    assert headers["dlt.attempts"] == str(platform["followup"].settings.consumer_max_attempts)
    assert len(attempts) == platform["followup"].settings.consumer_max_attempts
    async with platform["followup"].app.state.database.session() as session:
        inbox = (await session.exec(select(InboxMessage))).all()
    assert len(inbox) == 1  # the failed event left no trace, not even in the inbox

    # The cause is fixed; the operator replays the dead letter and it is applied, once.
    consumer._handlers[SubjectScreened] = real_handler
    letters = await read_dead_letters(platform.bootstrap, dead_letter_topic(platform))
    assert await replay(platform.bootstrap, letters) == 1
    assert (await eventually(lambda: seen_everywhere(platform, doomed)))["followup"] == 1


async def test_an_unreachable_database_is_waited_for_never_dead_lettered(
    platform: Platform,
) -> None:
    """PostgreSQL restarting (connections refused, "the database system is shutting down") for
    longer than every retry: the event waits for the database instead of going to the DLT."""
    consumer = platform["followup"].app.state.consumer
    real_handler = consumer._handlers[SubjectScreened]
    subject_id = new_subject()
    outage = [0]
    failures = platform["followup"].settings.consumer_max_attempts * 2

    async def database_away(uow: UnitOfWork, event: Any) -> None:
        if event.subject_id == subject_id and outage[0] < failures:
            outage[0] += 1
            raise OperationalError("SELECT 1", None, ConnectionRefusedError(
                "the database system is shutting down"))
        await real_handler(uow, event)

    consumer._handlers[SubjectScreened] = database_away
    await screen(platform, subject_id)
    counts = await eventually(lambda: seen_everywhere(platform, subject_id), timeout=90)
    assert counts["followup"] == 1 and outage[0] == failures
    reader = AIOKafkaConsumer(dead_letter_topic(platform), bootstrap_servers=platform.bootstrap,
                              auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    try:
        letters = [r for batch in (await reader.getmany(timeout_ms=1000)).values()
                   for r in batch]
    finally:
        await reader.stop()
    assert letters == []


def test_database_outages_are_told_apart_from_bad_work() -> None:
    import asyncpg
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from rescue_shared.db.transient import is_transient_database_error

    shutting_down = asyncpg.exceptions.AdminShutdownError("terminating connection")
    assert is_transient_database_error(DBAPIError("SELECT 1", None, shutting_down))
    assert is_transient_database_error(OperationalError("x", None, ConnectionRefusedError()))
    assert is_transient_database_error(OSError(111, "Connection refused"))
    assert not is_transient_database_error(ValueError("cannot apply this screening"))
    assert not is_transient_database_error(
        IntegrityError("INSERT", None, Exception("duplicate key value violates unique")))


async def test_a_rolled_back_transaction_publishes_nothing(platform: Platform) -> None:
    eligibility = platform["eligibility"]
    subject_id = new_subject()
    rolled_back = new_event(
        SubjectScreened(screening_id=uuid.uuid4(), screening_date=date(2026, 3, 2),
                        protocol_version="1", outcome="eligible", awaiting_prediction=True),
        producer="eligibility", trial_id="NCT07295132", site_id="S01", subject_id=subject_id,
        correlation_id="rolled-back", occurred_at=datetime.now(UTC),
    )
    with pytest.raises(RuntimeError):
        async with UnitOfWork(eligibility.app.state.database, eligibility.settings) as uow:
            uow.emit(rolled_back)
            await uow.session.flush()
            raise RuntimeError("the state change failed")

    committed = await screen(platform, subject_id)  # same key, so same partition, after it
    await eventually(lambda: seen_everywhere(platform, subject_id))
    async with eligibility.app.state.database.session() as session:
        outbox = (await session.exec(select(OutboxMessage))).all()
    assert [json.loads(m.value)["payload"]["screening_id"] for m in outbox] == [
        committed["screening_id"]]
    for service in ("prediction", "randomization", "followup"):
        async with platform[service].app.state.database.session() as session:
            applied = {m.event_id for m in (await session.exec(select(InboxMessage))).all()}
        assert str(rolled_back.event_id) not in applied
        assert applied == {outbox[0].event_id}
    response = await platform["prediction"].client.get(
        f"/v1/subjects/{subject_id}", headers=SITE_USER)
    assert response.json()["latest_screening_id"] == committed["screening_id"]
