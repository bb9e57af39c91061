"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness import Platform, start_platform

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def platform(
    kafka_bootstrap: str, topic_namespace: str, database_urls: dict[str, str]
) -> AsyncIterator[Platform]:
    async with start_platform(kafka_bootstrap, topic_namespace, database_urls) as running:
        yield running


class LocalBroker:
    """A broker of our own that a test may stop and restart (the local script, port 19192)."""

    script = REPO / "deploy" / "local" / "kafka.sh"

    def __init__(self, port: int) -> None:
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"

    async def _run(self, *args: str) -> None:
        env = {**os.environ, "KAFKA_PORT": str(self.port)}
        process = await asyncio.create_subprocess_exec(
            "bash", str(self.script), *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"kafka.sh {' '.join(args)} failed:\n{output.decode()}")

    async def start(self) -> None:
        await self._run("start")

    async def stop(self, purge: bool = False) -> None:
        await self._run("stop", *(["--purge"] if purge else []))


@pytest.fixture
async def restartable_broker() -> AsyncIterator[LocalBroker]:
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("java and mvn are needed to run a broker this test can stop")
    broker = LocalBroker(int(os.environ.get("RESCUE_RESTARTABLE_KAFKA_PORT", "19192")))
    await broker.stop(purge=True)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop(purge=True)
