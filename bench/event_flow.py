"""Benchmark: screening latency over HTTP and event propagation to every consumer.

Runs the four services in-process on SQLite files against a real local Kafka broker, posts
screenings one at a time and measures (a) the POST latency seen by a hospital system and (b) the
time until all three consumers have applied the screening event. Prints a summary table.
Usage: `make bench` (starts its own broker) or `python bench/event_flow.py --bootstrap HOST:PORT`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from harness import ELIGIBLE_FACTS, SITE_USER, start_platform
from sqlmodel import col, select

from rescue_followup.adapters.tables import ScreeningRecord
from rescue_prediction.adapters.tables import PredictionSubject
from rescue_randomization.adapters.tables import RandomizationCandidate
from rescue_shared.testing import eventually


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def applied(platform: object, subject_id: str) -> bool:
    checks = (("prediction", select(PredictionSubject.subject_id).where(
                  PredictionSubject.subject_id == subject_id)),
              ("randomization", select(RandomizationCandidate.subject_id).where(
                  RandomizationCandidate.subject_id == subject_id)),
              ("followup", select(ScreeningRecord.subject_id).where(
                  col(ScreeningRecord.subject_id) == subject_id)))
    for name, query in checks:
        async with platform[name].app.state.database.session() as session:  # type: ignore[index]
            if (await session.exec(query)).first() is None:
                return False
    return True


async def run(bootstrap: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        urls = {n: f"sqlite+aiosqlite:///{tmp}/{n}.db"
                for n in ("eligibility", "prediction", "randomization", "followup")}
        namespace = f"bench-{uuid.uuid4().hex[:8]}."
        async with start_platform(bootstrap, namespace, urls) as platform:
            post_ms: list[float] = []
            flow_ms: list[float] = []
            for i in range(count):
                subject_id = f"S01-B{i:05d}"
                started = time.perf_counter()
                response = await platform["eligibility"].client.post(
                    "/v1/screenings", headers=SITE_USER, json={
                        "subject_id": subject_id, "screening_date": "2026-03-02",
                        "facts": ELIGIBLE_FACTS})
                assert response.status_code == 201, response.text
                post_ms.append((time.perf_counter() - started) * 1000)
                await eventually(lambda s=subject_id: applied(platform, s), interval=0.002)
                flow_ms.append((time.perf_counter() - started) * 1000)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'measure (n=' + str(count) + ')':<38}{'p50':>9}{'p95':>9}{'max':>9}")
    for label, values in (("POST /v1/screenings (ms)", post_ms),
                          ("screening -> all 3 consumers (ms)", flow_ms)):
        print(f"{label:<38}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}"
              f"{max(values):>9.1f}")
    print(f"peak resident memory of the 4 services in one process: {peak_mib:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.bootstrap, args.count))


if __name__ == "__main__":
    main()
