"""The seeded fault schedule and its injection, each followed by a recovery probe.

Kinds: `kill_service` (SIGKILL of a random service process, restarted after a random pause),
`broker_restart` (controlled stop, pause, start), `broker_kill` (SIGKILL of the JVM, pause,
start), `postgres_restart` (`pg_ctl restart -m fast`), `duplicate_retry` (answered writes sent
again, twice at once, with the same Idempotency-Key, and a new write sent twice at once) and
`poison` (a deliberately malformed message on a topic: it must go to the dead-letter topic and
nothing else). Faults run one after another at seeded moments; after each one a probe screening
must be accepted and reach prediction and randomization: the fault's recovery time is from the
injection to the probe's success.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from chaos.client import HospitalClient
from chaos.infra import Broker, Postgres
from chaos.load import ELIGIBLE_FACTS, poll
from chaos.processes import Cluster
from chaos.stores import POISON_HEADER

WEIGHTS: dict[str, float] = {
    "kill_service": 0.40, "duplicate_retry": 0.18, "postgres_restart": 0.14,
    "broker_restart": 0.11, "broker_kill": 0.11, "poison": 0.06,
}
PROBE_SITE = "S09"


@dataclass(frozen=True)
class PlannedFault:
    kind: str
    at_s: float  # offset from the campaign's start
    pause_s: float  # how long the component stays down (kills and stops)
    target_index: int  # which process (kill_service), which writes (duplicate_retry)


@dataclass
class FaultRecord:
    index: int
    kind: str
    target: str
    planned_at_s: float
    injected_at_s: float | None = None
    restored_at_s: float | None = None
    recovered_at_s: float | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def recovery_s(self) -> float | None:
        if self.injected_at_s is None or self.recovered_at_s is None:
            return None
        return self.recovered_at_s - self.injected_at_s


def plan_faults(count: int, duration_s: float, seed: int) -> list[PlannedFault]:
    """`count` faults at seeded moments within `duration_s`; every kind once when count allows."""
    rng = random.Random(seed)
    kinds = list(WEIGHTS)
    chosen = kinds[:count] if count >= len(kinds) else rng.sample(kinds, count)
    chosen += rng.choices(kinds, weights=list(WEIGHTS.values()), k=max(0, count - len(chosen)))
    rng.shuffle(chosen)
    moments = sorted(rng.uniform(0.03, 0.92) * duration_s for _ in chosen)
    return [PlannedFault(kind=kind, at_s=at, pause_s=round(rng.uniform(0.5, 6.0), 2),
                         target_index=rng.randrange(1 << 30))
            for kind, at in zip(chosen, moments, strict=True)]


class FaultInjector:
    def __init__(self, cluster: Cluster, broker: Broker, postgres: Postgres,
                 client: HospitalClient, namespace: str, probe_timeout_s: float = 240.0) -> None:
        self.cluster = cluster
        self.broker = broker
        self.postgres = postgres
        self.client = client
        self.namespace = namespace
        self.probe_timeout_s = probe_timeout_s
        self.records: list[FaultRecord] = []
        self._probes = 0

    async def run(self, plan: list[PlannedFault], t0: float) -> list[FaultRecord]:
        """Inject the planned faults in order (each at its moment, or at once if late)."""
        for index, fault in enumerate(plan):
            await asyncio.sleep(max(0.0, t0 + fault.at_s - time.monotonic()))
            record = FaultRecord(index=index, kind=fault.kind, target="",
                                 planned_at_s=fault.at_s)
            self.records.append(record)
            try:
                await self.inject(fault, record, t0)
            except Exception as exc:
                record.error = f"{type(exc).__name__}: {exc}"[:500]
            try:
                await self.restore_all(postgres=record.kind == "postgres_restart")
            except Exception as exc:
                record.error = f"{record.error or ''} restore: {type(exc).__name__}: {exc}"[:800]
            ok, probe = await self.probe()
            record.details["probe"] = probe
            if ok:
                record.recovered_at_s = time.monotonic() - t0
            recovery = f"{record.recovery_s:.1f} s" if record.recovery_s is not None else "NO"
            print(f"[chaos] fault {index + 1}/{len(plan)} at {record.injected_at_s or 0:.0f} s: "
                  f"{record.kind} {record.target} - recovered {recovery}"
                  f"{' - ' + record.error if record.error else ''}", file=sys.stderr, flush=True)
        return self.records

    async def inject(self, fault: PlannedFault, record: FaultRecord, t0: float) -> None:
        def now() -> float:
            return time.monotonic() - t0

        if fault.kind == "kill_service":
            process = self.cluster.processes[fault.target_index % len(self.cluster.processes)]
            record.target = process.name
            record.injected_at_s = now()
            process.kill()
            await asyncio.sleep(fault.pause_s)
            if not await process.start(timeout=180):
                record.error = f"{process.name} not ready after restart"
        elif fault.kind in ("broker_restart", "broker_kill"):
            record.target = self.broker.bootstrap
            record.injected_at_s = now()
            if fault.kind == "broker_kill":
                await self.broker.kill()
            else:
                await self.broker.stop()
            await asyncio.sleep(fault.pause_s)
            await self.broker.start()
        elif fault.kind == "postgres_restart":
            record.target = f"postgres:{self.postgres.port}"
            record.injected_at_s = now()
            await self.postgres.restart_fast()
        elif fault.kind == "duplicate_retry":
            record.target = "clients"
            record.injected_at_s = now()
            record.details.update(await self.duplicate_writes(fault.target_index))
        elif fault.kind == "poison":
            record.target = f"{self.namespace}rescue.eligibility.v1"
            record.injected_at_s = now()
            await self.poison(record.target)
        else:
            raise ValueError(f"unknown fault kind {fault.kind}")
        record.restored_at_s = now()

    async def restore_all(self, postgres: bool = False) -> None:
        """Whatever a failed injection left down is brought back (bounded)."""
        if postgres:
            await self.postgres.start()  # "already running" when the restart went well
        if self.broker.pid() is None:
            await self.broker.start()
        for process in self.cluster.processes:
            if not process.alive:
                await process.start(timeout=180)

    async def duplicate_writes(self, selector: int) -> dict[str, Any]:
        rng = random.Random(selector)
        answered = [r for r in self.client.ledger if r.answered and not r.probe]
        replays = [await self.client.duplicate(r)
                   for r in rng.sample(answered, min(3, len(answered)))]
        # And a new write whose first two attempts race each other.
        self._probes += 1
        subject = f"{PROBE_SITE}-D{self._probes:04d}"
        key = f"screening-{subject}-{uuid.uuid4().hex[:8]}"
        twins = await asyncio.gather(*(self.client.write(
            "screening", "eligibility", "/v1/screenings", subject_id=subject, site=PROBE_SITE,
            json_body=screening_body(subject), key=key, probe=True) for _ in range(2)))
        return {"replayed": len(replays), "same_answer": all(r.same_answer for r in replays),
                "twin_statuses": [t.status for t in twins]}

    async def poison(self, topic: str) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.broker.bootstrap)
        await producer.start()
        try:
            await asyncio.wait_for(producer.send_and_wait(
                topic, value=b'{"event_id": "not-an-envelope"', key=b"chaos-poison",
                headers=[(POISON_HEADER, b"1")]), timeout=30)
        finally:
            await producer.stop()

    async def probe(self) -> tuple[bool, str]:
        """A screening accepted and seen by prediction and randomization (bounded)."""
        self._probes += 1
        subject = f"{PROBE_SITE}-P{self._probes:04d}"
        deadline = time.monotonic() + self.probe_timeout_s
        sent = await self.client.write("screening", "eligibility", "/v1/screenings",
                                       subject_id=subject, site=PROBE_SITE, probe=True,
                                       json_body=screening_body(subject))
        if not sent.accepted:
            return False, f"{subject}: screening answered {sent.status} ({sent.error})"

        async def seen() -> bool:
            for service, path in (("prediction", f"/v1/subjects/{subject}"),
                                  ("randomization", f"/v1/candidates/{subject}")):
                response = await self.client.get(service, path, site=PROBE_SITE)
                if response is None or response.status_code != 200:
                    return False
            return True

        remaining = max(1.0, deadline - time.monotonic())
        if await poll(seen, remaining, interval=0.2):
            return True, subject
        return False, f"{subject}: not propagated in {self.probe_timeout_s}s"


def screening_body(subject: str) -> dict[str, Any]:
    return {"subject_id": subject, "screening_date": time.strftime("%Y-%m-%d", time.gmtime(
        time.time() - 3 * 86400)), "facts": ELIGIBLE_FACTS}
