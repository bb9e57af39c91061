"""Several replicas of one service on one PostgreSQL database: what they share must stay safe.

- Two outbox relays on one outbox publish every row exactly once and each subject's events in
  commit order (claiming batches with SKIP LOCKED alone would interleave them).
- Replicas starting at once run their migrations one after the other (advisory lock), and all
  start.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_shared.db.engine import Database
from rescue_shared.db.migrations import migration_lock_key, upgrade_to_head
from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.messaging.relay import OutboxRelay
from rescue_shared.observability.metrics import ServiceMetrics
from rescue_shared.settings import ServiceSettings
from rescue_shared.testing import eventually, fresh_postgres_database

pytestmark = pytest.mark.integration

SUBJECTS = 3
EVENTS_PER_SUBJECT = 60


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    async with fresh_postgres_database(postgres_admin_url) as url:
        yield url


def relay_settings(url: str, bootstrap: str, namespace: str) -> ServiceSettings:
    return ServiceSettings(service_name="eligibility", database_url=url,
                           kafka_bootstrap_servers=bootstrap, kafka_topic_namespace=namespace,
                           kafka_topic_partitions=6, outbox_batch_size=7,
                           outbox_sweep_seconds=0.05)


async def fill_outbox(database: Database, topic: str) -> None:
    """Each subject's events in sequence, subjects interleaved, as concurrent sites write them."""
    async with database.session() as session, session.begin():
        for sequence in range(EVENTS_PER_SUBJECT):
            for s in range(SUBJECTS):
                subject = f"S01-{s:04d}"
                session.add(OutboxMessage(
                    event_id=str(uuid.uuid4()), event_type="test.sequenced", topic=topic,
                    message_key=subject,
                    value=json.dumps({"subject": subject, "sequence": sequence}),
                    headers="{}"))


async def read_topic(bootstrap: str, topic: str, expected: int) -> list[dict[str, object]]:
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    await reader.start()
    received: list[dict[str, object]] = []
    try:
        async def complete() -> bool:
            for batch in (await reader.getmany(timeout_ms=200)).values():
                received.extend(json.loads(r.value) for r in batch)
            return len(received) >= expected

        await eventually(complete, timeout=60, description=f"{expected} messages")
    finally:
        await reader.stop()
    return received


async def test_two_relays_on_one_outbox_keep_each_subjects_order(
    postgres_url: str, kafka_bootstrap: str, topic_namespace: str
) -> None:
    await upgrade_to_head(postgres_url, ELIGIBILITY.migrations)
    settings = relay_settings(postgres_url, kafka_bootstrap, topic_namespace)
    topic = settings.topic("rescue.eligibility.v1")
    writer = Database(postgres_url)
    replicas = [Database(postgres_url) for _ in range(2)]
    relays = [OutboxRelay(db, settings, ServiceMetrics()) for db in replicas]
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        async def connected() -> bool:
            return all(relay._producer is not None for relay in relays)

        await eventually(connected, description="both relays connected")
        # Both relays are idle and ready: the rows appear at once and both race for them.
        await fill_outbox(writer, topic)
        for db in replicas:
            db.outbox_committed.set()
        received = await read_topic(kafka_bootstrap, topic, SUBJECTS * EVENTS_PER_SUBJECT)

        async def drained() -> bool:
            async with writer.session() as session:
                return (await session.exec(select(func.count()).select_from(OutboxMessage).where(
                    col(OutboxMessage.published_at).is_(None)))).one() == 0

        await eventually(drained, description="outbox drained")
    finally:
        for relay in relays:
            await relay.stop()
        await asyncio.gather(*tasks)
        for db in [*replicas, writer]:
            await db.dispose()

    by_subject: dict[object, list[object]] = defaultdict(list)
    for message in received:
        by_subject[message["subject"]].append(message["sequence"])
    assert len(received) == SUBJECTS * EVENTS_PER_SUBJECT  # each row once
    for subject, sequences in by_subject.items():
        assert sequences == list(range(EVENTS_PER_SUBJECT)), subject


async def migrate_processes(url: str, count: int) -> list[asyncio.subprocess.Process]:
    """`rescue-eligibility migrate` processes, as replicas or init jobs run it."""
    command = Path(sys.executable).parent / "rescue-eligibility"
    return [await asyncio.create_subprocess_exec(
        str(command), "migrate", env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT) for _ in range(count)]


async def finish(processes: list[asyncio.subprocess.Process]) -> None:
    outputs = await asyncio.wait_for(
        asyncio.gather(*(p.communicate() for p in processes)), timeout=120)
    for process, (output, _) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output.decode()


async def test_migrations_wait_for_the_replica_migrating(postgres_url: str) -> None:
    """While one replica holds the migration lock, another's migrate waits; then all succeed."""
    key = migration_lock_key(ELIGIBILITY.migrations)
    url = make_url(postgres_url).set(drivername="postgresql")
    holder = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", key)
        processes = await migrate_processes(postgres_url, 3)
        done, _ = await asyncio.wait([asyncio.ensure_future(p.wait()) for p in processes],
                                     timeout=5)
        assert not done, "a migration ran while another replica held the lock"
        assert await holder.fetchval("SELECT to_regclass('alembic_version')") is None
        await holder.execute("SELECT pg_advisory_unlock($1)", key)
        await finish(processes)
        versions = await holder.fetch("SELECT version_num FROM alembic_version")
    finally:
        await holder.close()
    assert len(versions) == 1
