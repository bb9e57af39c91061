"""Outbox relay: publishes committed outbox rows to Kafka, in commit order, at least once.

It wakes as soon as a unit of work commits events (no polling delay), and re-checks every
`outbox_sweep_seconds` for rows committed by other replicas. When Kafka is unreachable, rows stay
in the outbox and the relay retries with exponential backoff; nothing committed is lost.

Order with several replicas (PostgreSQL): each pass first takes a transaction-scoped advisory lock
of the service's outbox, so one relay at a time publishes, in id order; a replica that finds the
lock taken tries again shortly. A subject's writes are serialized by the row locks of her own
records, so her rows get ids in commit order and leave in that order whichever replica relays
them. (Claiming batches with SKIP LOCKED alone would let two relays send one subject's later
event before her earlier one.) Several replicas need PostgreSQL: a SQLite file serves one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rescue_shared.contracts.registry import TOPICS
from rescue_shared.db.engine import Database
from rescue_shared.db.platform_tables import OutboxMessage, utcnow
from rescue_shared.messaging.kafka import build_producer, ensure_topics
from rescue_shared.observability.metrics import ServiceMetrics
from rescue_shared.observability.tracing import publishing
from rescue_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
# How soon a replica that found another one publishing tries again.
BUSY_RETRY_SECONDS = 0.05

_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_PENDING = (select(_OUTBOX.c.id, _OUTBOX.c.topic, _OUTBOX.c.message_key, _OUTBOX.c.value,
                   _OUTBOX.c.headers, _OUTBOX.c.event_type, _OUTBOX.c.event_id)
            .where(_OUTBOX.c.published_at.is_(None)).order_by(_OUTBOX.c.id))


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock named `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class OutboxBusy(Exception):
    """Another replica holds the outbox's publishing lock."""


class OutboxRelay:
    def __init__(
        self, database: Database, settings: ServiceSettings, metrics: ServiceMetrics,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._database = database
        self._settings = settings
        self._metrics = metrics
        self._tracer = tracer or trace.get_tracer(__name__)
        self._producer: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self._lock_key = advisory_lock_key(f"rescue-outbox:{settings.service_name}")

    async def run(self) -> None:
        """Publish until `stop()`; survives broker outages."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._ensure_producer()
                # Cleared before the read, not after the wait: a commit the read will see does not
                # trigger one more (empty) pass; one after it sets the signal again.
                self._database.outbox_committed.clear()
                published = await self.publish_pending()
                failures = 0
                if published < self._settings.outbox_batch_size:
                    await self._wait_for_work(self._settings.outbox_sweep_seconds)
            except OutboxBusy:
                await self._wait_for_work(BUSY_RETRY_SECONDS, wake_on_commit=False)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(MAX_BACKOFF_SECONDS, 0.2 * 2 ** min(failures, 6))
                log.warning("outbox relay: %s; retrying in %.1fs", exc, delay)
                await self._drop_producer()
                await self._wait_for_work(delay * random.uniform(0.8, 1.2), wake_on_commit=False)
        await self._drop_producer()

    async def stop(self) -> None:
        """Ask the loop to finish its current pass and close the producer."""
        self._stopping.set()
        self._database.outbox_committed.set()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows in id order; returns how many went out.

        PostgreSQL: under the outbox's advisory lock (`OutboxBusy` when another replica holds
        it), the batch is claimed FOR UPDATE and marked in the same transaction.
        SQLite: a transaction there locks the whole database, so rows are read, sent outside any
        transaction, then marked (one relay per SQLite file, so nobody else claims them).
        Plain SQL statements rather than ORM objects: this runs after every commit, and the ORM's
        bookkeeping was most of a pass's time.
        """
        query = _PENDING.limit(self._settings.outbox_batch_size)
        engine = self._database.engine
        if self._database.is_postgresql:
            async with engine.begin() as connection:
                held = (await connection.execute(
                    select(func.pg_try_advisory_xact_lock(self._lock_key)))).scalar_one()
                if not held:
                    raise OutboxBusy()
                rows = list((await connection.execute(
                    query.with_for_update(skip_locked=True))).all())
                published, error = await self._send_in_order(rows)
                await self._mark(connection, rows, published, error)
        else:
            async with engine.begin() as connection:
                rows = list((await connection.execute(query)).all())
            published, error = await self._send_in_order(rows)
            if rows:
                async with engine.begin() as connection:
                    await self._mark(connection, rows, published, error)
        if published:
            self._metrics.events_published.inc(published)
        if error is not None:
            raise error
        return published

    async def _send_in_order(self, rows: list[Any]) -> tuple[int, Exception | None]:
        """Send rows until one fails: the rest keep their order and wait for the next pass."""
        for sent, row in enumerate(rows):
            try:
                await self._send(row)
            except Exception as exc:
                return sent, exc
        return len(rows), None

    @staticmethod
    async def _mark(connection: AsyncConnection, rows: list[Any], published: int,
                    error: Exception | None) -> None:
        if published:
            await connection.execute(
                update(_OUTBOX).where(_OUTBOX.c.id.in_([r.id for r in rows[:published]]))
                .values(published_at=utcnow(), attempts=_OUTBOX.c.attempts + 1))
        if error is not None and published < len(rows):
            await connection.execute(
                update(_OUTBOX).where(_OUTBOX.c.id == rows[published].id)
                .values(attempts=_OUTBOX.c.attempts + 1,
                        last_error=f"{type(error).__name__}: {error}"[:2000]))

    async def _send(self, row: Any) -> None:
        assert self._producer is not None
        with publishing(self._tracer, row.topic, json.loads(row.headers),
                        event_type=row.event_type, event_id=row.event_id) as headers:
            # The idempotent producer disables request timeouts, so bound the wait ourselves.
            await asyncio.wait_for(
                self._producer.send_and_wait(row.topic, value=row.value.encode(),
                                             key=row.message_key.encode(), headers=headers),
                timeout=self._settings.kafka_send_timeout_seconds,
            )

    async def _ensure_producer(self) -> None:
        if self._producer is not None:
            return
        await ensure_topics(self._settings, TOPICS)
        producer = build_producer(self._settings, "outbox-relay")
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=10)

    async def _wait_for_work(self, timeout: float, wake_on_commit: bool = True) -> None:
        signal = self._database.outbox_committed
        if wake_on_commit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout)
