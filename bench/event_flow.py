"""Benchmark: event propagation, beside a bare aiokafka round trip on the same broker.

Runs the four services as separate processes (`rescue-<name> serve`, one SQLite file each, as
one container each runs them) against a real local broker, posts screenings one at a time over
HTTP and measures, for each of the three consumers (prediction, randomization, follow-up), the
time from the eligibility commit (its outbox row's `created_at`) to the consumer's effect (its
inbox row's `applied_at`, written in the effect's transaction): relay wake-up, produce, fetch,
apply. Beside it, the ceiling: an aiokafka producer configured as the relay's (idempotent,
acks=all) sending to a consumer configured as the services' (same fetch wait), one message at a
time. Then bursts: `k` screenings posted at once, and the time until all three consumers applied
all. Progress is read from the consumers' SQLite files (read-only, WAL), not from their APIs, so
that watching costs the measured processes nothing.
Usage: `python bench/event_flow.py --bootstrap HOST:PORT [--count N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import tempfile
import time
import uuid
from typing import Any

import httpx
from common import cpu_seconds, percentile
from harness import ELIGIBLE_FACTS, SITE_USER
from processes import serving_all
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from rescue_shared.settings import ServiceSettings
from rescue_shared.testing import fresh_postgres_database

SERVICES = ("eligibility", "prediction", "randomization", "followup")
CONSUMERS = ("prediction", "randomization", "followup")
SCREENED = "eligibility.screened"


class Stores:
    """Read-only views of the services' databases (SQLite files or PostgreSQL databases)."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.is_postgresql = all(url.startswith("postgresql") for url in urls.values())
        self._engines = {name: create_async_engine(url, poolclass=NullPool if "sqlite" in url
                                                   else None) for name, url in urls.items()}

    async def rows(self, name: str, sql: str, **params: str) -> list[Any]:
        """Rows of `sql` in the service `name`'s database; `:t` is the screened event type."""
        async with self._engines[name].connect() as connection:
            return list((await connection.execute(text(sql), {"t": SCREENED, **params})).all())

    async def applied(self, name: str) -> int:
        """Screenings the consumer `name` applied."""
        rows = await self.rows(name, "SELECT count(*) FROM inbox_message WHERE event_type = :t")
        return int(rows[0][0])

    async def until_applied(self, expected: int, timeout: float = 120.0) -> None:
        """Wait until every consumer applied `expected` screenings. Polled every 5 ms, asking
        only the consumers still behind: the latencies come from the databases' own times, so
        the polling's granularity does not enter them, and it keeps the watcher's CPU (taken
        from the same two cores as the services) small."""
        deadline = time.monotonic() + timeout
        behind = list(CONSUMERS)
        while behind:
            behind = [name for name in behind if await self.applied(name) < expected]
            if behind and time.monotonic() > deadline:
                raise TimeoutError(f"{expected} screenings not applied by {', '.join(behind)}")
            if behind:
                await asyncio.sleep(0.005)

    async def close(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()


async def _screen(client: httpx.AsyncClient, subject_id: str) -> None:
    response = await client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": subject_id, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    assert response.status_code == 201, response.text


def _time(value: str | dt.datetime) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


async def _latencies(stores: Stores) -> tuple[list[float], list[float]]:
    """ms from each screening's commit to each consumer's commit of its effect, and from the
    screening's commit to the relay's commit marking it published (wake-up, produce
    acknowledged, mark). On PostgreSQL, with the commit times the server records
    (`pg_xact_commit_timestamp`) of rows written once in those transactions: the screening's
    audit entry, the consumer's inbox row, the outbox row as marked. On SQLite, with the times
    the rows were created (the outbox row's `created_at` is taken a little before its commit and
    the inbox row's `applied_at` a little before the effect's)."""
    if stores.is_postgresql:
        outbox = await stores.rows("eligibility", (
            "SELECT event_id, message_key, pg_xact_commit_timestamp(xmin) FROM outbox_message "
            "WHERE event_type = :t"))
        screened = dict(await stores.rows("eligibility", (
            "SELECT subject_id, pg_xact_commit_timestamp(xmin) FROM audit_entry "
            "WHERE action = :action"), action="screening.recorded"))
        committed = {str(event_id): _time(screened[subject]) for event_id, subject, _ in outbox}
        relayed = [(_time(marked) - committed[str(event_id)]).total_seconds() * 1000
                   for event_id, _, marked in outbox]
        effect = "pg_xact_commit_timestamp(xmin)"
    else:
        outbox = await stores.rows("eligibility", (
            "SELECT event_id, created_at, published_at FROM outbox_message "
            "WHERE event_type = :t"))
        committed = {str(event_id): _time(created) for event_id, created, _ in outbox}
        relayed = [((_time(published) if published else _time(created)) - _time(created))
                   .total_seconds() * 1000 for _, created, published in outbox]
        effect = "applied_at"
    out = []
    for name in CONSUMERS:
        for event_id, applied in await stores.rows(
                name, f"SELECT event_id, {effect} FROM inbox_message WHERE event_type = :t"):
            out.append((_time(applied) - committed[str(event_id)]).total_seconds() * 1000)
    return out, relayed


async def bare_round_trip(bootstrap: str, count: int) -> list[float]:
    """ms from send to receipt, one message at a time, clients configured as the platform's."""
    from aiokafka import AIOKafkaConsumer

    from rescue_shared.messaging.kafka import build_producer, ensure_topics

    settings = ServiceSettings(service_name="bench", kafka_bootstrap_servers=bootstrap,
                               kafka_topic_namespace=f"bench-bare-{uuid.uuid4().hex[:6]}.")
    await ensure_topics(settings, ["bare"])
    topic = settings.topic("bare")
    producer = build_producer(settings, "bare")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms)
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, b"warm-up", key=b"k")
        await consumer.getone()
        out = []
        value = b"x" * 1500  # about a subject.screened envelope
        for _ in range(count):
            started = time.perf_counter()
            await producer.send_and_wait(topic, value, key=b"k")
            await consumer.getone()
            out.append((time.perf_counter() - started) * 1000)
        return out
    finally:
        await consumer.stop()
        await producer.stop()


async def _drive(stores: Stores, url: str, pids: dict[str, int], count: int,
                 bursts: tuple[int, ...]) -> dict[str, Any]:
    """Screenings one at a time (each applied everywhere before the next), measured before the
    bursts are posted, with the CPU time each service spent per screening; then the bursts."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await _screen(client, "S01-W0000")  # warm-up: topics, connections, first fetch
        await stores.until_applied(1)
        done = 1
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        for i in range(count):
            await _screen(client, f"S01-B{i:05d}")
            done += 1
            await stores.until_applied(done)
        cpu = {name: (cpu_seconds(pid) - cpu[name]) * 1000 / count for name, pid in pids.items()}
        latencies, relayed = await _latencies(stores)
        drain: dict[int, float] = {}
        for k in bursts:
            started = time.perf_counter()
            await asyncio.gather(*(_screen(client, f"S01-K{k}{j:05d}") for j in range(k)))
            done += k
            await stores.until_applied(done)
            drain[k] = time.perf_counter() - started
        return {"latencies_ms": latencies, "relayed_ms": relayed, "cpu_ms": cpu, "burst_s": drain}


async def measure(bootstrap: str, count: int, bursts: tuple[int, ...], pg: str | None = None
                  ) -> dict[str, Any]:
    """On fresh PostgreSQL databases when `pg` (an admin URL) is given, else SQLite files."""
    async with contextlib.AsyncExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        urls = {name: (await stack.enter_async_context(fresh_postgres_database(pg)) if pg
                       else f"sqlite+aiosqlite:///{tmp}/{name}.db") for name in SERVICES}
        env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap,
               "KAFKA_TOPIC_NAMESPACE": f"bench-{uuid.uuid4().hex[:8]}.",
               "RESCUE_ENV": "development"}
        running = stack.enter_context(serving_all(
            {name: {"DATABASE_URL": urls[name], **env} for name in SERVICES}, tmp))
        stores = Stores(urls)
        try:
            measured = await _drive(stores, str(running["eligibility"][1].base_url),
                                    {name: pid for name, (pid, _) in running.items()},
                                    count, bursts)
        finally:
            await stores.close()
    return measured | {"bare_ms": await bare_round_trip(bootstrap, count)}


def run(bootstrap: str, *, count: int = 500, bursts: tuple[int, ...] = (10, 50, 200),
        pg: str | None = None) -> dict[str, Any]:
    r = asyncio.run(measure(bootstrap, count, bursts, pg))
    lat, bare = r["latencies_ms"][3:], r["bare_ms"]
    return {
        "event_count": count, "event_store": "postgresql" if pg else "sqlite",
        "event_p50_ms": percentile(lat, 0.5), "event_p99_ms": percentile(lat, 0.99),
        "kafka_bare_p50_ms": percentile(bare, 0.5), "kafka_bare_p99_ms": percentile(bare, 0.99),
        "event_p99_ratio_to_bare": percentile(lat, 0.99) / percentile(bare, 0.99),
        "event_relay_p50_ms": percentile(r["relayed_ms"], 0.5),
        "event_relay_p99_ms": percentile(r["relayed_ms"], 0.99),
        "event_burst_drain_s": {str(k): v for k, v in r["burst_s"].items()},
        # CPU each service process spent per screening (the request or its consumer, relay,
        # background tasks): on 2 cores, their sum bounds how fast one event can go through.
        "event_cpu_ms_per_event": r["cpu_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--pg", help="admin URL (postgresql+asyncpg://...); SQLite otherwise")
    args = parser.parse_args()
    print(run(args.bootstrap, count=args.count, pg=args.pg))


if __name__ == "__main__":
    main()
