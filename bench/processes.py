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
def serving(name: str, tmp: str, **env: str) -> Iterator[tuple[int, httpx.Client]]:
    """Start one service (settings from `env`, e.g. MESSAGING_ENABLED or KAFKA_*); yield its pid
    and a client once ready; stop it afterwards. Its log is `<tmp>/<name>.log`."""
    port = free_port()
    environment = os.environ | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/{name}.db",
        "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"} | env
    with Path(tmp, f"{name}.log").open("w") as log:
        process = subprocess.Popen([str(ROOT / ".venv/bin" / f"rescue-{name}"), "serve"],
                                   env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/readyz").status_code == 200:
                        break
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{name} did not become ready; see {log.name}")
                time.sleep(0.2)
            time.sleep(1.0)  # let start-up work settle
            yield process.pid, client
    finally:
        process.terminate()
        process.wait(30)
