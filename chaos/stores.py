"""Reading the system's state: every service database (SQL) and every topic (from the start).

`settle` waits (bounded) until every outbox is drained and every consumer group has committed up
to the end of its topics; `snapshot` then reads everything the reconciliation needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from rescue_shared.contracts.registry import EVENT_TYPES, TOPICS

POISON_HEADER = "chaos.poison"

# What each service reads from its database for the reconciliation.
QUERIES: dict[str, dict[str, str]] = {
    "eligibility": {
        "screenings": "SELECT id, subject_id, final_decision, created_at "
                      "FROM eligibility_screening",
        "subjects": "SELECT subject_id, latest_screening_id, prediction_version "
                    "FROM eligibility_subject",
    },
    "prediction": {
        "subjects": "SELECT subject_id, screenings_seen, latest_screening_id "
                    "FROM prediction_subject",
        "measurements": "SELECT subject_id, effective_date, value_u_ml "
                        "FROM prediction_ca125_measurement",
        "corrections": "SELECT subject_id, effective_date, reason, value_u_ml "
                       "FROM prediction_ca125_correction",
        "predictions": "SELECT subject_id, version, classification FROM prediction_record",
    },
    "randomization": {
        "candidates": "SELECT subject_id, screenings_seen, eligibility_status "
                      "FROM randomization_candidate",
        "predictions": "SELECT subject_id, version FROM randomization_prediction",
        "allocations": "SELECT subject_id, randomization_number, arm, stratum_key, slot_index, "
                       "invalidated_at FROM randomization_allocation",
        "strata": "SELECT stratum_key, scs_chemo, chemo, next_slot FROM randomization_stratum",
    },
    "followup": {
        "screenings": "SELECT screening_id, event_id, subject_id FROM followup_screening_record",
        "decisions": "SELECT subject_id, decision FROM followup_eligibility_decision",
        "predictions": "SELECT subject_id, version FROM followup_prediction",
        "subjects": "SELECT subject_id, randomization_number, arm, invalidated "
                    "FROM followup_subject",
        "assessments": "SELECT id, subject_id, type, supersedes_id FROM followup_assessment",
    },
}
PLATFORM_QUERIES = {
    "outbox": "SELECT event_id, event_type, topic, published_at FROM outbox_message",
    "inbox": "SELECT consumer, event_id, event_type, topic FROM inbox_message",
    "open_claims": "SELECT caller, key, created_at FROM idempotency_record "
                   "WHERE status_code IS NULL",
}


@dataclass
class WireMessage:
    topic: str
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    subject_id: str | None
    payload: dict[str, Any]
    headers: dict[str, str]

    @property
    def poison(self) -> bool:
        return self.headers.get(POISON_HEADER) == "1"


@dataclass
class Snapshot:
    tables: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    wire: dict[str, list[WireMessage]] = field(default_factory=dict)  # by base topic name
    dead_letters: dict[str, list[WireMessage]] = field(default_factory=dict)


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


async def read_database(database_url: str, service: str) -> dict[str, list[dict[str, Any]]]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        result = {}
        for name, sql in {**QUERIES[service], **PLATFORM_QUERIES}.items():
            result[name] = [dict(r) for r in await connection.fetch(sql, timeout=60)]
        return result
    finally:
        await connection.close()


def _decode(record: Any, base: str) -> WireMessage:
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
    try:
        body = json.loads(record.value or b"")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    payload = body.get("payload")
    return WireMessage(topic=base, partition=record.partition, offset=record.offset,
                       event_id=body.get("event_id"), event_type=body.get("event_type"),
                       subject_id=body.get("subject_id"),
                       payload=payload if isinstance(payload, dict) else {}, headers=headers)


async def read_topic(bootstrap: str, topic: str, base: str,
                     timeout: float = 120.0) -> list[WireMessage]:
    """Every message of `topic` from the beginning (bounded); empty when it does not exist."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await probe.start()
    try:
        if topic not in await probe.topics():
            return []
    finally:
        await probe.stop()
    # Without a group id, a subscribed consumer is assigned every partition of the topic.
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False,
                              auto_offset_reset="earliest", request_timeout_ms=30000)
    await reader.start()
    try:
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout * 10)):
            if reader.assignment() or time.monotonic() > deadline:
                break
            await reader.getmany(timeout_ms=100)
        assigned = sorted(reader.assignment(), key=lambda tp: tp.partition)
        if not assigned:
            raise TimeoutError(f"no partition of {topic} assigned in {timeout}s")
        await reader.seek_to_beginning(*assigned)
        end = await reader.end_offsets(assigned)
        messages: list[WireMessage] = []
        for _ in range(int(timeout * 2) + 1):
            behind = [tp for tp in assigned if await reader.position(tp) < end[tp]]
            if not behind:
                return messages
            if time.monotonic() > deadline:
                break
            for batch in (await reader.getmany(*behind, timeout_ms=500)).values():
                messages += [_decode(r, base) for r in batch]
        raise TimeoutError(f"reading {topic} took more than {timeout}s")
    finally:
        await reader.stop()


def consumer_plan() -> dict[str, tuple[list[str], set[str]]]:
    """Per service: the topics it consumes and the event types it applies."""
    from rescue_eligibility.app import DEFINITION as ELIGIBILITY
    from rescue_followup.app import DEFINITION as FOLLOWUP
    from rescue_prediction.app import DEFINITION as PREDICTION
    from rescue_randomization.app import DEFINITION as RANDOMIZATION
    # Handlers are keyed by event type name or by payload model.
    names: dict[Any, str] = {e.payload_model: e.name for e in EVENT_TYPES}
    names.update({e.name: e.name for e in EVENT_TYPES})
    plan = {}
    for d in (ELIGIBILITY, PREDICTION, RANDOMIZATION, FOLLOWUP):
        types = {names[key] for key in d.handlers if key in names}
        if d.consumed_topics and not types:
            raise RuntimeError(f"{d.name}: no known event type among its handlers {d.handlers}")
        plan[d.name] = (list(d.consumed_topics), types)
    return plan


async def consumer_lag(bootstrap: str, namespace: str) -> int:
    """Messages not yet committed by the services' consumer groups (sum over partitions)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await reader.start()
    try:
        lag = 0
        for service, (topics, _) in consumer_plan().items():
            committed = await admin.list_consumer_group_offsets(f"{namespace}{service}")
            for base in topics:
                topic = f"{namespace}{base}"
                partitions = reader.partitions_for_topic(topic) or set()
                tps = [TopicPartition(topic, p) for p in partitions]
                if not tps:
                    continue
                end = await reader.end_offsets(tps)
                for tp in tps:
                    done = committed.get(tp)
                    lag += end[tp] - (done.offset if done is not None and done.offset >= 0 else 0)
        return lag
    finally:
        await reader.stop()
        await admin.close()


async def outbox_backlog(database_urls: Mapping[str, str]) -> int:
    total = 0
    for url in database_urls.values():
        connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
        try:
            total += await connection.fetchval(
                "SELECT count(*) FROM outbox_message WHERE published_at IS NULL", timeout=30)
        finally:
            await connection.close()
    return total


async def settle(database_urls: Mapping[str, str], bootstrap: str, namespace: str,
                 timeout: float = 300.0, quiet_checks: int = 2) -> tuple[bool, float]:
    """Wait until outboxes are drained and consumers caught up `quiet_checks` times in a row."""
    t0 = time.monotonic()
    quiet = 0
    while time.monotonic() - t0 < timeout:
        with contextlib.suppress(Exception):
            backlog = await outbox_backlog(database_urls)
            lag = await consumer_lag(bootstrap, namespace) if backlog == 0 else -1
            quiet = quiet + 1 if backlog == 0 and lag == 0 else 0
            if quiet >= quiet_checks:
                return True, time.monotonic() - t0
        await asyncio.sleep(1.0)
    return False, time.monotonic() - t0


async def snapshot(database_urls: Mapping[str, str], bootstrap: str,
                   namespace: str) -> Snapshot:
    snap = Snapshot()
    for service, url in database_urls.items():
        snap.tables[service] = await read_database(url, service)
    for base in TOPICS:
        snap.wire[base] = await read_topic(bootstrap, f"{namespace}{base}", base)
        snap.dead_letters[base] = await read_topic(bootstrap, f"{namespace}{base}.DLT", base)
    return snap
