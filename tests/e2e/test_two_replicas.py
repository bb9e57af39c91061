"""Two replicas of every service, one of each SIGKILLed half-way through the trial.

Eight processes (`rescue-<service> serve`, two per service on their own ports), each service's
replicas sharing one PostgreSQL database and one consumer group, topics with 6 partitions. A
seeded hospital client spreads its requests over both replicas: 64 subjects go from screening
through CA-125 (JSON and FHIR), randomization and two years of follow-up records (the follow-up
processes run on a wall clock 750 days ahead, `chaos.clockshift`). When half of them are
randomized, one replica of each service is killed with SIGKILL; its partitions move to the other.
At the end every store and topic is reconciled with what the client was told.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from survival_check import assert_matches_lifelines

from chaos.client import HospitalClient
from chaos.load import LoadConfig, LoadGenerator, poll
from chaos.processes import SERVICES, build_cluster, free_port_plan
from chaos.reconcile import reconcile_system
from rescue_shared.testing import fresh_postgres_database

pytestmark = pytest.mark.e2e
SUBJECTS = 64
SEED = 20261130
FOLLOWUP_CLOCK_DAYS = 750  # the follow-up replicas live two years after randomization
FOLLOW_UP_DAYS = 720


def adtte(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_two_replicas_of_every_service_survive_a_sigkill_each(
    kafka_bootstrap: str, postgres_admin_url: str,
    topic_namespace: str, tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    async with contextlib.AsyncExitStack() as stack:
        urls = {s: await stack.enter_async_context(fresh_postgres_database(postgres_admin_url))
                for s in SERVICES}
        cluster = build_cluster(
            database_urls=urls, bootstrap=kafka_bootstrap, namespace=topic_namespace,
            partitions=6, replicas=2, ports=free_port_plan(2), log_dir=tmp_path / "logs",
            extra_env={"OUTBOX_SWEEP_SECONDS": "0.5", "IDEMPOTENCY_CLAIM_TTL_SECONDS": "10"},
            clock_offset_days={"followup": FOLLOWUP_CLOCK_DAYS})
        stack.push_async_callback(cluster.stop)
        await cluster.start()

        client = await stack.enter_async_context(HospitalClient(
            cluster.endpoints(), seed=SEED,
            clock_offsets={"followup": timedelta(days=FOLLOWUP_CLOCK_DAYS)}))
        load = LoadGenerator(client, LoadConfig(
            subjects=SUBJECTS, seed=SEED, duration_s=20, concurrency=16,
            follow_up_days=FOLLOW_UP_DAYS, ca125_before_screening_fraction=0.0,
            invalidation_fraction=0.05, wait_timeout_s=120))
        running = asyncio.create_task(load.run())

        async def half_randomized() -> bool:
            done = sum(1 for r in client.ledger if r.kind == "randomization" and r.accepted)
            return done >= SUBJECTS // 2 or running.done()

        assert await poll(half_randomized, timeout=240)
        killed = [rng.choice(cluster.of(s)) for s in SERVICES]
        for process in killed:
            process.kill()
        journeys = await asyncio.wait_for(running, timeout=300)

        outcome = await reconcile_system(urls, kafka_bootstrap, topic_namespace, client,
                                         settle_timeout=120)
        result = outcome.reconciliation
        statistician: dict[str, Any] = {"site": None, "role": "statistician"}
        analysis = await client.get("followup", "/v1/analysis/pfs", **statistician)
        export = await client.get("followup", "/v1/exports/adtte.csv", **statistician)

    logs = f"(logs in {tmp_path / 'logs'})"
    assert all(not p.alive for p in killed)
    assert [j.plan.subject_id for j in journeys if j.stuck] == [], (
        [(j.plan.subject_id, j.stuck) for j in journeys if j.stuck], logs)
    assert outcome.settled, logs
    assert result.lost == [], (result.lost[:20], logs)
    assert result.duplicated == [], (result.duplicated[:20], logs)
    assert result.double_allocations == []
    assert result.dead_lettered == [], result.dead_lettered[:5]
    assert outcome.audit_valid, outcome.audit

    # Every subject exactly once in every service.
    screened = {j.plan.subject_id for j in journeys}
    assert result.subjects["load"] == SUBJECTS
    assert result.applied["eligibility"]["screening"] == SUBJECTS
    for service in ("prediction", "randomization", "followup"):
        assert result.applied[service]["screening"] == SUBJECTS, service
    randomized = [j for j in journeys if j.plan.randomizable]
    assert {j.plan.subject_id for j in randomized} <= screened
    assert result.allocations == len(randomized) == result.applied["followup"]["randomization"]
    # Allocations unique (UNIQUE slots, reconciled above) and balanced within strata: permuted
    # blocks of at most 6 never leave a stratum more than 3 apart.
    assert result.max_stratum_imbalance <= 3, result.strata
    assert sum(sum(arms.values()) for arms in result.strata.values()) == len(randomized)

    # The primary analysis equals lifelines on the exported ADTTE data, which is the plan's.
    assert analysis is not None and analysis.status_code == 200, analysis and analysis.text
    assert export is not None and export.status_code == 200
    (tmp_path / "adtte.csv").write_text(export.text)  # kept beside the logs for a post-mortem
    (tmp_path / "analysis.json").write_text(analysis.text)
    rows = adtte(export.text)
    assert len(rows) == len(randomized) == analysis.json()["n"]
    planned = {j.plan.subject_id: (j.plan.day + 1, int(j.plan.outcome != "censored"), j.arm)
               for j in randomized}
    assert {r["USUBJID"]: (int(r["AVAL"]), 1 - int(r["CNSR"]), r["ARM"]) for r in rows} == planned
    assert_matches_lifelines(analysis.json(), [int(r["AVAL"]) for r in rows],
                             [1 - int(r["CNSR"]) for r in rows], [r["ARM"] for r in rows],
                             landmark_months=12.0)
