"""Helpers for the platform's tests: run a service in-process against real infrastructure.

Used by the root conftest.py and by every service's tests; never imported by production code.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select

from rescue_shared.auth.mint import mint_token
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.registry import parse_event
from rescue_shared.db.migrations import upgrade_to_head
from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.service import ServiceDefinition, create_service_app
from rescue_shared.settings import LOCAL_DEV_JWT_SECRET, ServiceSettings

T = TypeVar("T")


def token(site: str | None, *roles: str, sub: str | None = None,
          secret: str = LOCAL_DEV_JWT_SECRET) -> str:
    return mint_token(sub=sub or f"user-{uuid.uuid4().hex[:6]}", site_id=site, roles=list(roles),
                      secret=secret)


def auth(site: str | None, *roles: str) -> dict[str, str]:
    """Authorization header for a caller of `site` holding `roles`."""
    return {"Authorization": f"Bearer {token(site, *roles)}"}


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.05,
    description: str = "condition",
) -> T:
    """Poll `probe` until it returns a truthy value or raises no AssertionError (bounded wait)."""
    deadline = time.monotonic() + timeout
    last_error: AssertionError | None = None
    while True:
        try:
            result = await probe()
            if result:
                return result
        except AssertionError as exc:
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{description} not reached in {timeout}s") from last_error
        await asyncio.sleep(interval)


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    settings: ServiceSettings

    async def consumer_ready(self, timeout: float = 30.0) -> None:
        consumer = self.app.state.consumer
        if consumer is not None:
            await asyncio.wait_for(consumer.ready.wait(), timeout)


@contextlib.asynccontextmanager
async def run_service(
    definition: ServiceDefinition, settings: ServiceSettings, *, wait_for_consumer: bool = True,
) -> AsyncIterator[RunningService]:
    """Migrate the database, start the app's lifespan (relay, consumer) and give an HTTP client."""
    await upgrade_to_head(settings.database_url, definition.migrations)
    app = create_service_app(definition, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            service = RunningService(app=app, client=client, settings=settings)
            if wait_for_consumer and settings.messaging_enabled:
                await service.consumer_ready()
            yield service


def settings_for(settings_cls: type[ServiceSettings], **values: Any) -> ServiceSettings:
    """Settings of a service under test (fast retries, explicit values over the environment)."""
    defaults: dict[str, Any] = {"consumer_retry_backoff_seconds": 0.05, "outbox_sweep_seconds": 0.5,
                                "rescue_env": "development"}  # tokens: the public local secret
    return settings_cls(**{**defaults, **values})


async def published_events(service: RunningService, topic: str) -> list[EventEnvelope[Any]]:
    """Every event on the service's `topic` (base name) once its outbox has drained, in order of
    occurrence: what the other services will read."""
    async def drained() -> bool:
        async with service.app.state.database.session() as session:
            pending: int = (await session.exec(select(func.count()).select_from(OutboxMessage)
                                               .where(col(OutboxMessage.published_at).is_(None)))
                            ).one()
            return pending == 0

    await eventually(drained, description="outbox drained")
    reader = AIOKafkaConsumer(service.settings.topic(topic),
                              bootstrap_servers=service.settings.kafka_bootstrap_servers,
                              enable_auto_commit=False, auto_offset_reset="earliest")
    await reader.start()
    try:
        async def assigned() -> bool:
            return bool(reader.assignment())

        await eventually(assigned, description="partitions assigned")
        end = await reader.end_offsets(list(reader.assignment()))
        records = []
        while [tp for tp, offset in end.items() if await reader.position(tp) < offset]:
            for batch in (await reader.getmany(timeout_ms=500)).values():
                records += batch
        return sorted((parse_event(r.value) for r in records), key=lambda e: e.occurred_at)
    finally:
        await reader.stop()


@contextlib.asynccontextmanager
async def fresh_postgres_database(admin_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    url = make_url(admin_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
