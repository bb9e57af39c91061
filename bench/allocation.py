"""Benchmark: randomization latency, one request at a time and in a burst of simultaneous requests.

Runs the randomization service in-process on a SQLite file (or `--database-url`) with its outbox
relay publishing `randomization.assigned` to a real broker. Subjects are made randomizable by
applying the eligibility and prediction events with the service's own handlers (as its consumer
does), then `POST /v1/randomizations` is timed: sequentially, then `--burst` requests at once in
one stratum (every allocation is serialized on the audit head, so the burst shows the queueing).
Usage: `make bench` or `python bench/allocation.py --bootstrap HOST:PORT`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from harness import ELIGIBLE_FACTS

from rescue_randomization.app import DEFINITION
from rescue_randomization.entrypoints.events import HANDLERS
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.contracts import new_event
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    PredictionCompleted,
    SubjectScreened,
)
from rescue_shared.testing import RunningService, auth, run_service, settings_for


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def events_making_randomizable(subject_id: str) -> list[Any]:
    common = {"trial_id": "NCT07295132", "site_id": "S01", "subject_id": subject_id,
              "correlation_id": str(uuid.uuid4())}
    screening_id = uuid.uuid4()
    return [
        new_event(SubjectScreened(screening_id=screening_id, screening_date="2026-03-02",  # type: ignore[arg-type]
                                  protocol_version="1", outcome="eligible",
                                  awaiting_prediction=True, failed_criteria=[], missing_facts=[],
                                  clinical_facts=ELIGIBLE_FACTS), producer="eligibility", **common),
        new_event(EligibilityConfirmed(screening_id=screening_id, protocol_version="1"),
                  producer="eligibility", **common),
        new_event(PredictionCompleted(prediction_id=uuid.uuid4(), version=1,
                                      classification="highly_likely_complete_resection",
                                      model_version="bench", protocol_version="prediction-v1"),
                  producer="prediction", **common),
    ]


async def make_randomizable(service: RunningService, subject_ids: list[str]) -> None:
    for subject_id in subject_ids:
        for event in events_making_randomizable(subject_id):
            async with DEFINITION.unit_of_work(service.app.state.database, service.settings) as uow:
                await HANDLERS[type(event.payload)](uow, event)
                await uow.commit()


async def timed_post(service: RunningService, subject_id: str) -> float:
    started = time.perf_counter()
    response = await service.client.post(
        "/v1/randomizations", headers=auth("S01", "site_user"),
        json={"subject_id": subject_id, "consent_confirmed": True, "planned_maintenance": "none"})
    assert response.status_code == 201, response.text
    return (time.perf_counter() - started) * 1000


async def run(bootstrap: str, count: int, burst: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(
            RandomizationSettings,
            database_url=database_url or f"sqlite+aiosqlite:///{tmp}/randomization.db",
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_namespace=f"bench-{uuid.uuid4().hex[:8]}.")
        async with run_service(DEFINITION, settings) as service:
            sequential = [f"S01-A{i:05d}" for i in range(count)]
            simultaneous = [f"S01-C{i:05d}" for i in range(burst)]
            await make_randomizable(service, sequential + simultaneous)
            one_at_a_time = [await timed_post(service, s) for s in sequential]
            started = time.perf_counter()
            in_burst = await asyncio.gather(*(timed_post(service, s) for s in simultaneous))
            burst_s = time.perf_counter() - started
    engine = "PostgreSQL" if database_url and "postgresql" in database_url else "SQLite"
    print(f"\nrandomization on {engine}")
    print(f"{'measure':<44}{'p50':>9}{'p95':>9}{'max':>9}")
    for label, values in ((f"POST /v1/randomizations, sequential (n={count}) ms", one_at_a_time),
                          (f"POST /v1/randomizations, {burst} at once ms", list(in_burst))):
        print(f"{label:<44}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}"
              f"{max(values):>9.1f}")
    print(f"burst throughput: {burst / burst_s:.0f} allocations/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.bootstrap, args.count, args.burst, args.database_url))


if __name__ == "__main__":
    main()
