"""The services as separate operating-system processes: start, SIGKILL, restart, wait for /readyz.

Each process is `.venv/bin/rescue-<service> serve` (or the same entry point under a shifted wall
clock, see `chaos.clockshift`) with its configuration in environment variables, its output
appended to `<run dir>/logs/<service>-<replica>.log`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chaos import REPO

SERVICES: tuple[str, ...] = ("eligibility", "prediction", "randomization", "followup")
# Inherited from the caller's environment; every service setting is given explicitly.
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServiceProcess:
    """One replica of one service."""

    service: str
    replica: int
    port: int
    env: dict[str, str]
    log_path: Path
    clock_offset_days: float = 0.0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def name(self) -> str:
        return f"{self.service}-{self.replica}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def argv(self) -> list[str]:
        if self.clock_offset_days:
            return [sys.executable, "-m", "chaos.clockshift", f"rescue_{self.service}.__main__",
                    "serve"]
        return [str(Path(sys.executable).parent / f"rescue-{self.service}"), "serve"]

    def spawn(self) -> None:
        """Start the process (no wait); a live one is left alone."""
        if self.alive:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(self.env)
        if self.clock_offset_days:
            env["CHAOS_CLOCK_OFFSET_DAYS"] = str(self.clock_offset_days)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        with self.log_path.open("ab") as log:
            log.write(f"\n=== chaos: start #{self.starts + 1} of {self.name} at "
                      f"{time.strftime('%Y-%m-%dT%H:%M:%S')} ===\n".encode())
            log.flush()
            # Own session: a Ctrl-C of the campaign does not reach it; we stop it ourselves.
            self.process = subprocess.Popen(self.argv(), env=env, cwd=REPO, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        # For deploy/local/chaos.sh's clean-up should this campaign itself be killed.
        self.log_path.with_suffix(".pid").write_text(f"{self.process.pid}\n")
        self.starts += 1

    async def wait_ready(self, timeout: float = 120.0) -> bool:
        """True once GET /readyz answers 200 within `timeout`; False if it died or never did."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=3.0) as client:
            while time.monotonic() < deadline:
                if not self.alive:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return True
                await asyncio.sleep(0.25)
        return False

    async def start(self, timeout: float = 120.0) -> bool:
        self.spawn()
        return await self.wait_ready(timeout)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no offset commit, no flush."""
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    async def terminate(self, grace: float = 30.0) -> None:
        """SIGTERM (graceful shutdown), SIGKILL after `grace` seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        for _ in range(int(grace * 10)):
            if process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)


def service_env(
    *, service: str, port: int, database_url: str, bootstrap: str, namespace: str,
    partitions: int, extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The process environment of one replica: only what the campaign chose, plus PATH etc."""
    env = {k: os.environ[k] for k in _PASSED_THROUGH if k in os.environ}
    env.update({
        "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC_NAMESPACE": namespace,
        "KAFKA_TOPIC_PARTITIONS": str(partitions), "MIGRATE_ON_START": "true",
        "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
        "RESCUE_ENV": "development",  # the campaign's tokens use the public local secret
    })
    env.update(extra or {})
    return env


@dataclass
class Cluster:
    """Every replica of every service."""

    processes: list[ServiceProcess] = field(default_factory=list)

    def of(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.processes if p.service == service]

    def urls(self, service: str) -> list[str]:
        return [p.url for p in self.of(service)]

    def endpoints(self) -> dict[str, list[str]]:
        return {s: self.urls(s) for s in SERVICES}

    async def start(self, timeout: float = 180.0) -> None:
        """Replica 0 of every service first (it runs the migrations), then the others."""
        replicas = sorted({p.replica for p in self.processes})
        for replica in replicas:
            batch = [p for p in self.processes if p.replica == replica]
            ready = await asyncio.gather(*(p.start(timeout) for p in batch))
            failed = [p.name for p, ok in zip(batch, ready, strict=True) if not ok]
            if failed:
                raise RuntimeError(f"not ready in {timeout}s: {failed} "
                                   f"(logs in {batch[0].log_path.parent})")

    async def stop(self) -> None:
        await asyncio.gather(*(p.terminate() for p in self.processes))


def build_cluster(
    *, database_urls: Mapping[str, str], bootstrap: str, namespace: str, partitions: int,
    replicas: int, ports: Mapping[tuple[str, int], int], log_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    clock_offset_days: Mapping[str, float] | None = None,
    services: Iterable[str] = SERVICES,
) -> Cluster:
    cluster = Cluster()
    for service in services:
        for replica in range(replicas):
            port = ports[(service, replica)]
            cluster.processes.append(ServiceProcess(
                service=service, replica=replica, port=port,
                env=service_env(service=service, port=port,
                                database_url=database_urls[service], bootstrap=bootstrap,
                                namespace=namespace, partitions=partitions, extra=extra_env),
                log_path=log_dir / f"{service}-{replica}.log",
                clock_offset_days=(clock_offset_days or {}).get(service, 0.0)))
    return cluster


def port_plan(base: int, replicas: int) -> dict[tuple[str, int], int]:
    """Ports base+i (i = service index) for replica 0, base+10+i for replica 1, ..."""
    return {(s, r): base + 10 * r + i for r in range(replicas) for i, s in enumerate(SERVICES)}


def free_port_plan(replicas: int) -> dict[tuple[str, int], int]:
    return {(s, r): free_port() for r in range(replicas) for s in SERVICES}
