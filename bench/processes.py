"""Services as separate processes, as one container each runs them: `rescue-<name> serve` on a
free local port and a SQLite file, ready when `/readyz` answers 200."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from common import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving_all(services: dict[str, dict[str, str]], tmp: str
                ) -> Iterator[dict[str, tuple[int, httpx.Client]]]:
    """Start every service at once (name -> settings from the environment, e.g.
    MESSAGING_ENABLED or KAFKA_*); yield each one's pid and a client once all are ready; stop
    them afterwards. Logs are `<tmp>/<name>.log`."""
    with contextlib.ExitStack() as stack:
        started: dict[str, tuple[subprocess.Popen[bytes], httpx.Client]] = {}
        for name, env in services.items():
            port = free_port()
            environment = os.environ | {
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/{name}.db",
                "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"} | env
            with Path(tmp, f"{name}.log").open("w") as log:
                process = subprocess.Popen(
                    [str(ROOT / ".venv/bin" / f"rescue-{name}"), "serve"],
                    env=environment, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(_stop, process)
            client = stack.enter_context(
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600))
            started[name] = process, client
        deadline = time.monotonic() + 120
        for name, (process, client) in started.items():
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/readyz").status_code == 200:
                        break
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{name} did not become ready; see {tmp}/{name}.log")
                time.sleep(0.2)
        time.sleep(1.0)  # let start-up work settle
        yield {name: (process.pid, client) for name, (process, client) in started.items()}


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(30)
