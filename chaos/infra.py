"""The campaign's own Kafka broker and PostgreSQL cluster, driven through deploy/local's scripts.

Both get ports and state directories of their own (so that a campaign runs beside `make run` and
`make test`). Faults: the broker stopped and started (SIGTERM, controlled shutdown), the broker
SIGKILLed (its pid file), PostgreSQL restarted with `pg_ctl restart -m fast` (as the `postgres`
user when we are root, like postgres.sh does).
"""

from __future__ import annotations

import asyncio
import glob
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from chaos import REPO

SCRIPTS = REPO / "deploy" / "local"
SERVICE_DATABASES = {s: f"rescue_{s}" for s in
                     ("eligibility", "prediction", "randomization", "followup")}


async def run_command(argv: list[str], env: dict[str, str] | None = None,
                      timeout: float = 180.0, cwd: Path | None = None) -> str:
    """Run a command to completion (bounded); its output, or RuntimeError with the output."""
    process = await asyncio.create_subprocess_exec(
        *argv, env={**os.environ, **(env or {})}, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"{' '.join(argv)} did not finish in {timeout}s") from None
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}):\n{text[-3000:]}")
    return text


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@dataclass
class Broker:
    """A single-node KRaft broker on 127.0.0.1:`port` (deploy/local/kafka.sh)."""

    port: int
    state_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def instance_dir(self) -> Path:
        return self.state_dir / f"kafka-{self.port}"

    def _env(self) -> dict[str, str]:
        return {"KAFKA_PORT": str(self.port), "RESCUE_STATE_DIR": str(self.state_dir)}

    async def start(self) -> None:
        await run_command(["bash", str(SCRIPTS / "kafka.sh"), "start"], self._env(), timeout=240)

    async def stop(self, purge: bool = False) -> None:
        await run_command(["bash", str(SCRIPTS / "kafka.sh"), "stop",
                           *(["--purge"] if purge else [])], self._env(), timeout=120)

    def pid(self) -> int | None:
        try:
            pid = int((self.instance_dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return None
        ours = "kafka.Kafka" in cmdline and str(self.instance_dir / "server.properties") in cmdline
        return pid if ours else None

    async def kill(self) -> None:
        """SIGKILL the broker JVM (no controlled shutdown, log recovery at the next start)."""
        pid = self.pid()
        if pid is None:
            raise RuntimeError(f"no broker of ours on port {self.port} to kill")
        os.kill(pid, signal.SIGKILL)
        for _ in range(300):  # 30 s
            if not _pid_alive(pid):
                return
            await asyncio.sleep(0.1)


def _default_pg_state_dir() -> Path:
    # As root the server runs as `postgres`, which may not traverse the checkout (see postgres.sh).
    if os.geteuid() == 0:
        return Path("/var/tmp/rescue-chaos")
    return REPO / ".local" / "chaos" / "state"


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1:`port` (deploy/local/postgres.sh)."""

    port: int
    state_dir: Path | None = None
    fast: bool = False  # PG_FAST=1: fsync off (only safe for clean restarts)

    def __post_init__(self) -> None:
        self.state_dir = self.state_dir or _default_pg_state_dir()

    @property
    def instance_dir(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / f"postgres-{self.port}"

    def _env(self) -> dict[str, str]:
        return {"PGPORT": str(self.port), "RESCUE_STATE_DIR": str(self.state_dir),
                "PG_FAST": "1" if self.fast else "0"}

    def database_urls(self) -> dict[str, str]:
        return {s: f"postgresql+asyncpg://rescue:rescue@127.0.0.1:{self.port}/{db}"
                for s, db in SERVICE_DATABASES.items()}

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def start(self) -> None:
        await run_command(["bash", str(SCRIPTS / "postgres.sh"), "start"], self._env(),
                          timeout=600)

    async def stop(self, purge: bool = False) -> None:
        await run_command(["bash", str(SCRIPTS / "postgres.sh"), "stop",
                           *(["--purge"] if purge else [])], self._env(), timeout=120)

    @staticmethod
    def _bin(tool: str) -> str:
        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"),
                       key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
        if not found:
            raise RuntimeError(f"PostgreSQL's {tool} not found under /usr/lib/postgresql")
        return found[-1]

    async def restart_fast(self) -> None:
        """`pg_ctl restart -m fast`: open sessions rolled back, a clean shutdown, a new start."""
        argv = [self._bin("pg_ctl"), "-D", str(self.instance_dir / "data"), "-m", "fast", "-w",
                "-t", "60", "-l", str(self.instance_dir / "postgres.log"), "restart"]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        await run_command(argv, timeout=120, cwd=self.instance_dir)
