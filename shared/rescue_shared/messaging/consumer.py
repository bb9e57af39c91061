"""Idempotent event consumer: inbox dedup in the effect's transaction, commit after the database.

For every message: decode the envelope; skip (count and log) event types this service does not
handle; otherwise apply the handler inside one unit of work that also records the event id in the
inbox (a second delivery finds it and changes nothing); commit the Kafka offset only after the
database commit. A message that still fails after `consumer_max_attempts` tries goes to
`<topic>.DLT` with the error and its origin in headers, and the consumer moves on.

Handlers are registered by payload model (`{SubjectScreened: on_subject_screened}`), so a handler
map names only types the contract registry knows; `handler_map` checks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from opentelemetry import trace
from pydantic import BaseModel

from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.registry import (
    EVENT_TYPES,
    ContractError,
    UnknownEventType,
    event_type_of,
    parse_event,
)
from rescue_shared.db.engine import Database
from rescue_shared.db.insert_if_absent import insert_if_absent
from rescue_shared.db.platform_tables import InboxMessage
from rescue_shared.db.transient import is_transient_database_error
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.messaging.consumer_lag import ConsumerLag
from rescue_shared.messaging.kafka import build_producer, ensure_topics
from rescue_shared.observability.context import correlation_id_var
from rescue_shared.observability.metrics import ServiceMetrics
from rescue_shared.observability.tracing import consuming
from rescue_shared.settings import ServiceSettings

log = logging.getLogger(__name__)
# Longest pause between two tries of an event while the database is unreachable.
MAX_OUTAGE_BACKOFF_SECONDS = 5.0

# The first argument is the service's own UnitOfWork subclass (hence Any: callables are
# contravariant in their arguments).
EventHandler = Callable[[Any, EventEnvelope[Any]], Awaitable[None]]
HandlerMap = Mapping[type[BaseModel], EventHandler]


def handler_map(handlers: Mapping[type[BaseModel] | str, EventHandler]) -> dict[
        type[BaseModel], EventHandler]:
    """Handlers by payload model; ContractError for a model (or name) the registry lacks.

    An event-type name stands for its registered payload models (every schema version)."""
    by_model: dict[type[BaseModel], EventHandler] = {}
    for key, handler in handlers.items():
        if isinstance(key, str):
            models = [e.payload_model for e in EVENT_TYPES if e.name == key]
            if not models:
                raise ContractError(f"no registered event type {key!r}")
        else:
            event_type_of(key)  # raises for an unregistered model
            models = [key]
        for model in models:
            by_model[model] = handler
    return by_model


class _CommitOnRevoke:
    """Commit what is applied before a partition moves to another replica."""

    def __init__(self, runner: EventConsumer) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._runner.commit_applied()
        self._runner.lag.forget(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned: %s",
                 sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))


# aiokafka ships no type information: registered as a virtual subclass (the ABC's isinstance
# check passes) rather than subclassing an untyped base.
ConsumerRebalanceListener.register(_CommitOnRevoke)


class EventConsumer:
    """Runs one consumer group member for a service; `handlers` maps event_type to a handler."""

    def __init__(
        self,
        *,
        database: Database,
        settings: ServiceSettings,
        metrics: ServiceMetrics,
        topics: list[str],
        handlers: Mapping[type[BaseModel] | str, EventHandler],
        group_id: str | None = None,
        unit_of_work: type[UnitOfWork] = UnitOfWork,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._database = database
        self._settings = settings
        self._metrics = metrics
        self._tracer = tracer or trace.get_tracer(__name__)
        self.lag = ConsumerLag(metrics.consumer_lag)
        self._base_topics = topics
        self._handlers = handler_map(handlers)
        self._unit_of_work = unit_of_work
        self.group_id = group_id or f"{settings.kafka_topic_namespace}{settings.service_name}"
        self._consumer: AIOKafkaConsumer | None = None
        self._dlt_producer: AIOKafkaProducer | None = None
        self._pending: dict[TopicPartition, int] = {}
        self._stopping = asyncio.Event()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Consume until `stop()`; reconnects with backoff when the broker is unreachable."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._start()
                failures = 0
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(5.0, 0.2 * 2 ** min(failures, 6))
                log.warning("consumer %s: %s; restarting in %.1fs", self.group_id, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
            finally:
                await self._close()

    async def stop(self) -> None:
        """Finish the message in hand, commit, leave the group."""
        self._stopping.set()

    async def commit_applied(self) -> None:
        """Commit the offsets of messages whose effects are already in the database."""
        if self._consumer is None or not self._pending:
            return
        offsets, self._pending = self._pending, {}
        await self._consumer.commit(offsets)

    async def _start(self) -> None:
        await ensure_topics(self._settings, self._base_topics)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=self.group_id,
            client_id=f"{self._settings.service_name}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._settings.consumer_fetch_max_wait_ms,
        )
        consumer.subscribe(
            [self._settings.topic(t) for t in self._base_topics], listener=_CommitOnRevoke(self)
        )
        self._dlt_producer = build_producer(self._settings, "dead-letter")
        self._consumer = consumer
        await self._dlt_producer.start()
        await consumer.start()

    async def _consume(self) -> None:
        assert self._consumer is not None
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=200, max_records=100)
            if not self.ready.is_set() and self._consumer.assignment():
                self.ready.set()
            await self.lag.after_fetch(self._consumer, batches)
            # Offsets are committed once per fetched batch (after every effect in it is in the
            # database), not per message: a Kafka round trip per event halved a burst's rate.
            # A crash in between redelivers applied events, which the inbox recognises.
            stop = False
            for tp, records in batches.items():
                for record in records:
                    if not await self._process(record):
                        stop = True  # stopping while the database is away: redelivered later
                        break
                    self._pending[tp] = record.offset + 1
                    self.lag.applied(self._consumer, record)
                    if self._stopping.is_set():
                        stop = True
                        break
                if stop:
                    break
            if self._pending:  # an empty poll has nothing to commit
                await self.commit_applied()
            if stop:
                return

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._dlt_producer = self._dlt_producer, None
        self._pending = {}
        self.lag.forget()
        if consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), timeout=15)
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=10)

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Apply, skip or dead-letter one message in a span continuing its publisher's trace;
        False when it is left for a redelivery."""
        with consuming(self._tracer, topic=record.topic, partition=record.partition,
                       offset=record.offset, consumer_group=self.group_id,
                       headers=record.headers):
            return await self._handle(record)

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        try:
            envelope = parse_event(record.value or b"")
        except UnknownEventType as exc:
            # A newer producer's type: forward compatible, but never silent.
            self._metrics.events_skipped.labels(exc.event_type, "unknown_type").inc()
            log.warning("skipping %s at %s[%s]@%s", exc, record.topic, record.partition,
                        record.offset)
            return True
        except ContractError as exc:
            await self._dead_letter(record, exc, attempts=1)
            return True
        handler = self._handlers.get(type(envelope.payload))
        if handler is None:
            self._metrics.events_skipped.labels(envelope.event_type, "not_handled").inc()
            log.debug("not handled here: %s %s", envelope.event_type, envelope.event_id)
            return True
        trace.get_current_span().set_attributes({
            "messaging.message.id": str(envelope.event_id),
            "rescue.event_type": envelope.event_type,
            "rescue.correlation_id": envelope.correlation_id,
        })
        token = correlation_id_var.set(envelope.correlation_id)
        try:
            return await self._apply_with_retries(record, envelope, handler)
        finally:
            correlation_id_var.reset(token)

    async def _apply_with_retries(
        self, record: ConsumerRecord[bytes, bytes], envelope: EventEnvelope[Any],
        handler: EventHandler,
    ) -> bool:
        """Apply with bounded retries, then dead-letter. While the database is unreachable the
        event is retried without counting attempts (it is not at fault); False when the consumer
        stops meanwhile (the offset stays uncommitted, so the event comes again)."""
        attempts = self._settings.consumer_max_attempts
        attempt = outage = 0
        while True:
            try:
                applied = await self._apply_measured(record, envelope, handler)
                outcome = "applied" if applied else "duplicate"
                self._metrics.events_consumed.labels(envelope.event_type, outcome).inc()
                return True
            except Exception as exc:
                if is_transient_database_error(exc):
                    outage += 1
                    delay = min(MAX_OUTAGE_BACKOFF_SECONDS,
                                self._settings.consumer_retry_backoff_seconds * 2 ** min(outage, 6))
                    log.warning("database unreachable while applying %s %s (try %d); retrying in "
                                "%.1fs: %s", envelope.event_type, envelope.event_id, outage,
                                delay, exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
                    if self._stopping.is_set():
                        return False
                    continue
                attempt += 1
                log.warning(
                    "applying %s %s failed (attempt %d/%d): %s",
                    envelope.event_type, envelope.event_id, attempt, attempts, exc,
                )
                if attempt >= attempts:
                    await self._dead_letter(record, exc, attempts=attempts)
                    return True
                backoff = self._settings.consumer_retry_backoff_seconds
                await asyncio.sleep(backoff * 2 ** (attempt - 1))

    async def _apply_measured(
        self, record: ConsumerRecord[bytes, bytes], envelope: EventEnvelope[Any],
        handler: EventHandler,
    ) -> bool:
        """One try at applying, in a span of its own (child of the message's) and timed."""
        outcome = "failed"
        started = time.perf_counter()
        try:
            with self._tracer.start_as_current_span(f"apply {envelope.event_type}") as span:
                applied = await self._apply_once(record, envelope, handler)
                outcome = "applied" if applied else "duplicate"
                span.set_attribute("rescue.outcome", outcome)
                return applied
        finally:
            self._metrics.event_handler_latency.labels(envelope.event_type, outcome).observe(
                time.perf_counter() - started)

    async def _apply_once(
        self, record: ConsumerRecord[bytes, bytes], envelope: EventEnvelope[Any],
        handler: EventHandler,
    ) -> bool:
        event_id = str(envelope.event_id)
        async with self._unit_of_work(self._database, self._settings) as uow:
            # One statement checks and records: a replica applying the same event at the same
            # moment waits on this row, then finds it (PostgreSQL), instead of both applying it
            # and one failing at commit.
            if not await insert_if_absent(uow.session, InboxMessage, {
                "consumer": self.group_id, "event_id": event_id,
                "event_type": envelope.event_type, "topic": record.topic,
                "partition": record.partition, "offset": record.offset,
            }):
                return False
            await handler(uow, envelope)
            await uow.commit()
            return True

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException, attempts: int
    ) -> None:
        assert self._dlt_producer is not None
        headers = [
            *(record.headers or ()),
            ("dlt.error", str(error)[:4000].encode()),
            ("dlt.error_type", type(error).__name__.encode()),
            ("dlt.stacktrace", "".join(traceback.format_exception(error))[-4000:].encode()),
            ("dlt.origin.topic", record.topic.encode()),
            ("dlt.origin.partition", str(record.partition).encode()),
            ("dlt.origin.offset", str(record.offset).encode()),
            ("dlt.consumer_group", self.group_id.encode()),
            ("dlt.attempts", str(attempts).encode()),
            ("dlt.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        # If this send fails the offset is not committed: the message is redelivered, not lost.
        await asyncio.wait_for(
            self._dlt_producer.send_and_wait(
                f"{record.topic}.DLT", value=record.value, key=record.key, headers=headers
            ),
            timeout=self._settings.kafka_send_timeout_seconds,
        )
        self._metrics.events_dead_lettered.labels(record.topic).inc()
        span = trace.get_current_span()
        span.add_event("dead_lettered", {"rescue.dead_letter_topic": f"{record.topic}.DLT",
                                         "rescue.attempts": attempts})
        span.set_status(trace.StatusCode.ERROR, f"dead-lettered: {type(error).__name__}")
        log.error(
            "dead-lettered %s[%s]@%s after %d attempt(s): %s",
            record.topic, record.partition, record.offset, attempts, error,
        )
