"""Benchmark: event propagation, beside a bare aiokafka round trip on the same broker.

Runs the four services in-process against a real local broker, posts screenings one at a time and
measures, for each of the three consumers (prediction, randomization, follow-up), the time from
the eligibility commit (its outbox row's `created_at`) to the consumer's effect (its inbox row's
`applied_at`, written in the effect's transaction): relay wake-up, produce, fetch, apply. Beside
it, the ceiling: an aiokafka producer configured as the relay's (idempotent, acks=all) sending
to a consumer configured as the services' (same fetch wait), one message at a time.
Then bursts: `k` screenings posted at once, and the time until all three consumers applied all.
Usage: `python bench/event_flow.py --bootstrap HOST:PORT [--count N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from typing import Any

from common import percentile
from harness import ELIGIBLE_FACTS, SITE_USER, Platform, start_platform
from sqlmodel import col, select

from rescue_shared.db.platform_tables import InboxMessage, OutboxMessage
from rescue_shared.settings import ServiceSettings
from rescue_shared.testing import eventually

CONSUMERS = ("prediction", "randomization", "followup")


def _applied(platform: Platform, name: str) -> float:
    """Screenings the consumer applied, from its in-memory counter (polling the databases every
    few ms would load the very process being measured)."""
    counter = platform[name].app.state.metrics.events_consumed
    return float(counter.labels("eligibility.screened", "applied")._value.get())


async def _all_applied(platform: Platform, expected: int) -> bool:
    return all(_applied(platform, n) >= expected for n in CONSUMERS)


async def _screen(platform: Platform, subject_id: str) -> None:
    response = await platform["eligibility"].client.post(
        "/v1/screenings", headers=SITE_USER, json={
            "subject_id": subject_id, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    assert response.status_code == 201, response.text


async def _latencies(platform: Platform) -> tuple[list[float], list[float]]:
    """ms from each screening's outbox commit to each consumer's inbox row, and the part of it
    spent before the relay marked the row published (wake-up + produce acknowledged)."""
    async with platform["eligibility"].app.state.database.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            col(OutboxMessage.event_type) == "eligibility.screened"))).all()
    committed = {r.event_id: r.created_at for r in rows}
    relayed = [((r.published_at or r.created_at) - r.created_at).total_seconds() * 1000
               for r in rows]
    out = []
    for name in CONSUMERS:
        async with platform[name].app.state.database.session() as session:
            for row in (await session.exec(select(InboxMessage).where(
                    col(InboxMessage.event_type) == "eligibility.screened"))).all():
                out.append((row.applied_at - committed[row.event_id]).total_seconds() * 1000)
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


async def measure(bootstrap: str, count: int, bursts: tuple[int, ...]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        urls = {n: f"sqlite+aiosqlite:///{tmp}/{n}.db"
                for n in ("eligibility", "prediction", "randomization", "followup")}
        namespace = f"bench-{uuid.uuid4().hex[:8]}."
        async with start_platform(bootstrap, namespace, urls) as platform:
            await _screen(platform, "S01-W0000")  # warm-up: topics, connections, first fetch
            await eventually(lambda: _all_applied(platform, 1), interval=0.005)
            done = 1
            for i in range(count):
                await _screen(platform, f"S01-B{i:05d}")
                done += 1
                await eventually(lambda d=done: _all_applied(platform, d), interval=0.001)
            latencies, relayed = await _latencies(platform)
            drain: dict[int, float] = {}
            for k in bursts:
                started = time.perf_counter()
                await asyncio.gather(*(_screen(platform, f"S01-K{k}{j:05d}") for j in range(k)))
                done += k
                await eventually(lambda d=done: _all_applied(platform, d), interval=0.005,
                                 timeout=120)
                drain[k] = time.perf_counter() - started
    bare = await bare_round_trip(bootstrap, count)
    return {"latencies_ms": latencies, "relayed_ms": relayed, "bare_ms": bare, "burst_s": drain}


def run(bootstrap: str, *, count: int = 500, bursts: tuple[int, ...] = (10, 50, 200)
        ) -> dict[str, Any]:
    r = asyncio.run(measure(bootstrap, count, bursts))
    lat, bare = r["latencies_ms"][3:], r["bare_ms"]
    return {
        "event_count": count,
        "event_p50_ms": percentile(lat, 0.5), "event_p99_ms": percentile(lat, 0.99),
        "kafka_bare_p50_ms": percentile(bare, 0.5), "kafka_bare_p99_ms": percentile(bare, 0.99),
        "event_p99_ratio_to_bare": percentile(lat, 0.99) / percentile(bare, 0.99),
        "event_relay_p50_ms": percentile(r["relayed_ms"], 0.5),
        "event_relay_p99_ms": percentile(r["relayed_ms"], 0.99),
        "event_burst_drain_s": {str(k): v for k, v in r["burst_s"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    print(run(args.bootstrap, count=args.count))


if __name__ == "__main__":
    main()
