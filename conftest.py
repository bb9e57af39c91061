"""Fixtures shared by every test: real Kafka and real databases.

- Kafka: `KAFKA_BOOTSTRAP_SERVERS` when set (`make test` starts a local broker and sets it);
  otherwise, where a Docker engine answers, testcontainers starts one.
- PostgreSQL: `TEST_DATABASE_URL` (an admin-capable database, e.g. the local cluster's
  rescue_test) when set; otherwise testcontainers where Docker answers. Each test gets a fresh
  database of its own, created and dropped around it.
- SQLite: a file in the test's temporary directory.
Tests that need a store take `database_url`, parametrised over both engines.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rescue_shared.testing import fresh_postgres_database

REPO = Path(__file__).resolve().parent
# Tests sign tokens with the public local secret, which only development mode accepts (tests of
# production mode set it themselves).
os.environ.setdefault("RESCUE_ENV", "development")


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        yield servers
        return
    if not _docker_available():
        pytest.skip("no KAFKA_BOOTSTRAP_SERVERS and no Docker engine: run `make test`")
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer("apache/kafka:3.9.1").with_kraft() as kafka:
        yield kafka.get_bootstrap_server()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    if not _docker_available():
        pytest.skip("no TEST_DATABASE_URL and no Docker engine: run `make test`")
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:15", driver="asyncpg") as pg:
        yield pg.get_connection_url()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of each engine the platform supports."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    async with fresh_postgres_database(admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_urls(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    """One fresh database per service, on each engine the platform supports."""
    names = ["eligibility", "prediction", "randomization", "followup"]
    if request.param == "sqlite":
        yield {n: f"sqlite+aiosqlite:///{tmp_path / f'{n}.db'}" for n in names}
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    async with contextlib.AsyncExitStack() as stack:
        yield {n: await stack.enter_async_context(fresh_postgres_database(admin_url))
               for n in names}


@pytest.fixture
def topic_namespace() -> str:
    """Topics of one test, invisible to every other test on the same broker."""
    return f"test-{uuid.uuid4().hex[:10]}."
