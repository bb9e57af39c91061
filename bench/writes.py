"""Benchmark: the write endpoints beside a bare endpoint, and allocation under contention.

On PostgreSQL (fresh databases), with the outbox relay publishing to a real broker:
- `POST /v1/screenings` and `POST /v1/randomizations`, sequential and with `clients` concurrent
  clients, each beside a bare FastAPI endpoint served in the same process through the same ASGI
  transport, inserting one row of the same size (the request body, as JSON text) into the same
  database through the service's own connection pool: the ceiling of "an HTTP write" here.
- Allocation under contention: subjects spread over several strata (4 sites x 2 PFI bands x 3
  maintenance levels), `clients` at once; afterwards no slot and no subject used twice, and the
  audit chain verifies.
Usage: `python bench/writes.py --bootstrap HOST:PORT --pg ADMIN_URL [--count N --clients C]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from common import percentile
from fastapi import FastAPI, Request
from harness import ELIGIBLE_FACTS
from sqlalchemy import text

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_eligibility.settings import EligibilitySettings
from rescue_randomization.app import DEFINITION as RANDOMIZATION
from rescue_randomization.entrypoints.events import HANDLERS
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.contracts import new_event
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    PredictionCompleted,
    SubjectScreened,
)
from rescue_shared.db.engine import Database
from rescue_shared.testing import (
    RunningService,
    auth,
    fresh_postgres_database,
    run_service,
    settings_for,
)

SITES = ("S01", "S02", "S03", "S04")
MAINTENANCE = ("parp_inhibitor", "bevacizumab", "none")
PFI = (8.0, 14.0)


@contextlib.asynccontextmanager
async def bare_client(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A bare endpoint: read the JSON body, insert it as one row, commit, answer 201."""
    async with database.session() as session:
        await session.exec(text(  # type: ignore[call-overload]
            "CREATE TABLE IF NOT EXISTS bench_bare (id BIGSERIAL PRIMARY KEY, "
            "subject_id VARCHAR(100), body TEXT NOT NULL)"))
        await session.commit()
    app = FastAPI()

    @app.post("/bare", status_code=201)
    async def bare(request: Request) -> dict[str, str]:
        body = await request.json()
        async with database.session() as session:
            await session.exec(text(  # type: ignore[call-overload]
                "INSERT INTO bench_bare (subject_id, body) VALUES (:s, :b)"),
                params={"s": body.get("subject_id"), "b": json.dumps(body)})
            await session.commit()
        return {"subject_id": body.get("subject_id")}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        yield client


async def throughput(call: Callable[[int], Awaitable[None]], count: int, clients: int
                     ) -> tuple[float, list[float]]:
    """Requests/s and per-request ms with `clients` workers sharing `count` calls."""
    latencies: list[float] = []
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return count / (time.perf_counter() - started), latencies


def screening_body(subject_id: str) -> dict[str, Any]:
    return {"subject_id": subject_id, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS}


async def screenings(bootstrap: str, admin_url: str, count: int, clients: int
                     ) -> dict[str, float]:
    tag = uuid.uuid4().hex[:6]
    async with fresh_postgres_database(admin_url) as url:
        settings = settings_for(EligibilitySettings, database_url=url,
                                kafka_bootstrap_servers=bootstrap,
                                kafka_topic_namespace=f"bench-{tag}.")
        async with run_service(ELIGIBILITY, settings) as service, \
                bare_client(service.app.state.database) as bare:
            headers = auth("S01", "site_user")

            def post(path: str, client: httpx.AsyncClient, prefix: str
                     ) -> Callable[[int], Awaitable[None]]:
                async def call(i: int) -> None:
                    r = await client.post(path, headers=headers,
                                          json=screening_body(f"S01-{prefix}{i:05d}"))
                    assert r.status_code == 201, r.text
                return call

            await post("/v1/screenings", service.client, "W")(0)  # warm-up
            await post("/bare", bare, "W")(0)
            out: dict[str, float] = {}
            for label, n in (("sequential", 1), ("concurrent", clients)):
                rate, lat = await throughput(post("/v1/screenings", service.client,
                                                  f"{label[0]}A"), count, n)
                bare_rate, bare_lat = await throughput(post("/bare", bare, f"{label[0]}B"),
                                                       count, n)
                out[f"screening_{label}_per_s"] = rate
                out[f"screening_{label}_p50_ms"] = percentile(lat, 0.5)
                out[f"bare_screening_{label}_per_s"] = bare_rate
                out[f"bare_screening_{label}_p50_ms"] = percentile(bare_lat, 0.5)
            out["screening_ratio_to_bare"] = (out["screening_concurrent_per_s"]
                                              / out["bare_screening_concurrent_per_s"])
            out["screening_sequential_ratio_to_bare"] = (
                out["screening_sequential_per_s"] / out["bare_screening_sequential_per_s"])
    return out


def randomizable_events(subject_id: str, site: str, pfi: float) -> list[Any]:
    common = {"trial_id": "NCT07295132", "site_id": site, "subject_id": subject_id,
              "correlation_id": str(uuid.uuid4())}
    screening_id = uuid.uuid4()
    facts = {**ELIGIBLE_FACTS, "platinum_free_interval_months": pfi}
    return [
        new_event(SubjectScreened(screening_id=screening_id, screening_date="2026-03-02",  # type: ignore[arg-type]
                                  protocol_version="1", outcome="eligible",
                                  awaiting_prediction=True, failed_criteria=[], missing_facts=[],
                                  clinical_facts=facts), producer="eligibility", **common),
        new_event(EligibilityConfirmed(screening_id=screening_id, protocol_version="1"),
                  producer="eligibility", **common),
        new_event(PredictionCompleted(prediction_id=uuid.uuid4(), version=1,
                                      classification="highly_likely_complete_resection",
                                      model_version="bench", protocol_version="prediction-v1"),
                  producer="prediction", **common),
    ]


async def make_randomizable(service: RunningService, subjects: list[tuple[str, str, float]]
                            ) -> None:
    """Apply the events that make each subject randomizable, with the service's own handlers."""
    for subject_id, site, pfi in subjects:
        for event in randomizable_events(subject_id, site, pfi):
            async with RANDOMIZATION.unit_of_work(service.app.state.database,
                                                  service.settings) as uow:
                await HANDLERS[type(event.payload)](uow, event)
                await uow.commit()


async def checked(service: RunningService) -> dict[str, Any]:
    """Double use of a slot or a subject (must be 0) and the audit chain's verdict."""
    async with service.app.state.database.session() as session:
        slots = (await session.exec(text(  # type: ignore[call-overload]
            "SELECT count(*) FROM (SELECT stratum_key, slot_index FROM randomization_allocation "
            "GROUP BY stratum_key, slot_index HAVING count(*) > 1) d"))).one()[0]
        subjects = (await session.exec(text(  # type: ignore[call-overload]
            "SELECT count(*) - count(DISTINCT subject_id) FROM randomization_allocation"))).one()[0]
        strata = (await session.exec(text(  # type: ignore[call-overload]
            "SELECT count(DISTINCT stratum_key) FROM randomization_allocation"))).one()[0]
    verdict = (await service.client.get("/v1/audit/verify", headers=auth(None, "monitor"))).json()
    return {"double_used_slots": int(slots), "double_randomized_subjects": int(subjects),
            "strata": int(strata), "audit_valid": bool(verdict["valid"]),
            "audit_entries": int(verdict["entries"])}


async def randomizations(bootstrap: str, admin_url: str, count: int, clients: int,
                         scaling: tuple[int, ...]) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    async with fresh_postgres_database(admin_url) as url:
        settings = settings_for(RandomizationSettings, database_url=url,
                                kafka_bootstrap_servers=bootstrap,
                                kafka_topic_namespace=f"bench-{tag}.")
        async with run_service(RANDOMIZATION, settings) as service, \
                bare_client(service.app.state.database) as bare:
            runs = [("sequential", 1), ("concurrent", clients)] + [
                (f"clients_{c}", c) for c in scaling if c not in (1, clients)]
            subjects = {label: [(f"{SITES[i % 4]}-R{k}{i:05d}", SITES[i % 4], PFI[(i // 4) % 2])
                                for i in range(count)] for k, (label, _) in enumerate(runs)}
            await make_randomizable(service, [s for group in subjects.values() for s in group])
            out: dict[str, Any] = {}

            def allocate(group: list[tuple[str, str, float]]) -> Callable[[int], Awaitable[None]]:
                async def call(i: int) -> None:
                    subject_id, site, _ = group[i]
                    r = await service.client.post(
                        "/v1/randomizations", headers=auth(site, "site_user"), json={
                            "subject_id": subject_id, "consent_confirmed": True,
                            "planned_maintenance": MAINTENANCE[(i // 8) % 3]})
                    assert r.status_code == 201, r.text
                return call

            def insert(prefix: str) -> Callable[[int], Awaitable[None]]:
                async def call(i: int) -> None:
                    r = await bare.post("/bare", json={
                        "subject_id": f"{prefix}{i:05d}", "consent_confirmed": True,
                        "planned_maintenance": "none"})
                    assert r.status_code == 201, r.text
                return call

            await insert("W")(0)
            for label, n in runs:
                rate, lat = await throughput(allocate(subjects[label]), count, n)
                out[f"randomization_{label}_per_s"] = rate
                out[f"randomization_{label}_p50_ms"] = percentile(lat, 0.5)
                if label in ("sequential", "concurrent"):
                    bare_rate, _ = await throughput(insert(label), count, n)
                    out[f"bare_randomization_{label}_per_s"] = bare_rate
            out["randomization_ratio_to_bare"] = (out["randomization_concurrent_per_s"]
                                                  / out["bare_randomization_concurrent_per_s"])
            out["randomization_sequential_ratio_to_bare"] = (
                out["randomization_sequential_per_s"] / out["bare_randomization_sequential_per_s"])
            out["allocations_per_s_pg_50_clients"] = out["randomization_concurrent_per_s"]
            out["allocation_checks"] = await checked(service)
            out["allocations_per_s_by_clients"] = {
                str(n): out[f"randomization_{label}_per_s"] for label, n in runs}
    return out


def run(bootstrap: str, admin_url: str, *, count: int = 200, clients: int = 50,
        scaling: tuple[int, ...] = (1, 10, 50, 100)) -> dict[str, Any]:
    out = asyncio.run(screenings(bootstrap, admin_url, count, clients))
    out |= asyncio.run(randomizations(bootstrap, admin_url, count, clients, scaling))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--pg", required=True, help="admin URL (postgresql+asyncpg://...)")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(run(args.bootstrap, args.pg, count=args.count, clients=args.clients),
                     indent=1))


if __name__ == "__main__":
    main()
