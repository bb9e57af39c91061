"""One campaign: own broker and PostgreSQL, the services as processes, load + faults, reconcile."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos import REPO
from chaos.client import HospitalClient
from chaos.faults import FaultInjector, plan_faults
from chaos.infra import Broker, Postgres
from chaos.load import LoadConfig, LoadGenerator
from chaos.processes import build_cluster, port_plan
from chaos.reconcile import reconcile_system
from chaos.report import build_report


@dataclass(frozen=True)
class CampaignConfig:
    subjects: int = 200
    faults: int = 50
    seed: int = 20261130
    replicas: int = 2
    partitions: int = 6
    kafka_port: int = 29092
    pg_port: int = 56432
    port_base: int = 28001
    run_dir: Path = REPO / ".local" / "chaos"
    pg_state_dir: Path | None = None  # default: /var/tmp/rescue-chaos as root, else run_dir
    duration_s: float | None = None  # default: long enough for the faults
    concurrency: int = 12
    ca125_before_screening_fraction: float = 0.1
    max_minutes: float = 60.0  # hard bound on load + faults
    settle_timeout_s: float = 300.0
    pg_fast: bool = False

    def planned_duration(self) -> float:
        return self.duration_s or max(self.subjects * 2.0, self.faults * 12.0)


async def run_campaign(config: CampaignConfig) -> dict[str, Any]:
    started = time.monotonic()
    state = config.run_dir / "state"
    broker = Broker(config.kafka_port, state)
    postgres = Postgres(config.pg_port, config.pg_state_dir, fast=config.pg_fast)
    # A fresh broker and cluster: the reconciliation reads every topic and table from the start.
    await asyncio.gather(broker.stop(purge=True), postgres.stop(purge=True))
    await asyncio.gather(broker.start(), postgres.start())
    urls = postgres.database_urls()
    cluster = build_cluster(database_urls=urls, bootstrap=broker.bootstrap, namespace="",
                            partitions=config.partitions, replicas=config.replicas,
                            ports=port_plan(config.port_base, config.replicas),
                            log_dir=config.run_dir / "logs")
    try:
        await cluster.start()
        async with HospitalClient(cluster.endpoints(), seed=config.seed) as client:
            duration = config.planned_duration()
            load = LoadGenerator(client, LoadConfig(
                subjects=config.subjects, seed=config.seed, duration_s=duration,
                concurrency=config.concurrency,
                ca125_before_screening_fraction=config.ca125_before_screening_fraction))
            injector = FaultInjector(cluster, broker, postgres, client, namespace="")
            t0 = time.monotonic()
            journeys, faults = await asyncio.wait_for(asyncio.gather(
                load.run(), injector.run(plan_faults(config.faults, duration, config.seed + 1),
                                         t0)), timeout=config.max_minutes * 60)
            load_s = time.monotonic() - t0
            outcome = await reconcile_system(urls, broker.bootstrap, "", client,
                                             config.settle_timeout_s)
        return build_report(config=_jsonable(config), journeys=journeys, faults=faults,
                            outcome=outcome, wall_s=time.monotonic() - started, load_s=load_s)
    finally:
        await cluster.stop()
        with contextlib.suppress(Exception):
            await broker.stop(purge=True)
        with contextlib.suppress(Exception):
            await postgres.stop(purge=True)


def _jsonable(config: CampaignConfig) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v
            for k, v in dataclasses.asdict(config).items()}

