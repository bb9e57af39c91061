"""Composition root shared by the four services: builds a FastAPI app from a definition.

Nothing is created at import time: `create_service_app(definition, settings)` builds the database,
token verifier, metrics, outbox relay and event consumer, and the lifespan starts and stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from rescue_shared.auth.tokens import TokenVerifier
from rescue_shared.db.engine import Database
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.http import health
from rescue_shared.http.guards import BodyLimitMiddleware, UnhandledErrorMiddleware
from rescue_shared.http.idempotency import IdempotencyMiddleware
from rescue_shared.http.observability import RequestObservabilityMiddleware
from rescue_shared.http.openapi import RequestExample, install_contract
from rescue_shared.http.problems import install_problem_handlers
from rescue_shared.messaging.consumer import EventConsumer, EventHandler
from rescue_shared.messaging.outbox_backlog import OutboxBacklogMonitor
from rescue_shared.messaging.relay import OutboxRelay
from rescue_shared.observability.metrics import ServiceMetrics
from rescue_shared.observability.tracing import INSTRUMENTATION_NAME, build_tracer_provider
from rescue_shared.settings import LOCAL_DEV_JWT_SECRET, ServiceSettings

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 20.0


@dataclass(frozen=True)
class ServiceDefinition:
    """What makes one service: its routes, the events it consumes, its migrations."""

    name: str
    title: str
    description: str
    migrations: str  # alembic script location, "package:folder"
    routers: Sequence[APIRouter]
    consumed_topics: Sequence[str] = ()
    # Handlers by payload model (an event-type name is still accepted: all its versions).
    handlers: Mapping[type[BaseModel] | str, EventHandler] = field(default_factory=dict)
    # Paths of bulk routes (cohorts, posted data sets, FHIR Bundles), exactly: their bodies may
    # reach `max_bulk_request_body_bytes` instead of `max_request_body_bytes`.
    bulk_paths: Sequence[str] = ()
    # The service's unit of work (its repositories); routes and handlers get one per request/event.
    unit_of_work: type[UnitOfWork] = UnitOfWork
    # A valid request body for each operation that takes one, by operationId (the route
    # function's name): documented in the OpenAPI document and posted by the contract tests.
    request_examples: Mapping[str, RequestExample] = field(default_factory=dict)
    # Rules an operation enforces (422) that its JSON Schema cannot state, by operationId.
    rules_beyond_schema: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Models a route names in its document without FastAPI seeing them (a body read by hand).
    openapi_models: Sequence[type[BaseModel]] = ()


def operation_id(route: APIRoute) -> str:
    """The stable operationId of a route: its function's name (unique within a service)."""
    return route.name


async def _stop_task(task: asyncio.Task[None] | None,
                     stop: Callable[[], Awaitable[None]]) -> None:
    if task is None:
        return
    await stop()
    try:
        await asyncio.wait_for(task, SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.error("background task did not stop in %ss; cancelled", SHUTDOWN_GRACE_SECONDS)
    except Exception:
        log.exception("background task failed")


def create_service_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    metrics = ServiceMetrics()
    tracer_provider = build_tracer_provider(settings)
    tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME)
    if settings.jwt_algorithm == "HS256" and settings.jwt_secret == LOCAL_DEV_JWT_SECRET:
        # Only reachable with RESCUE_ENV=development: the settings refuse it anywhere else.
        log.warning("development mode: tokens signed with the public local-development secret "
                    "are accepted")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url)
        app.state.database = database
        app.state.broker_probe = health.BrokerProbe(settings)
        relay: OutboxRelay | None = None
        relay_task = consumer_task = None
        app.state.consumer = None
        if settings.messaging_enabled:
            relay = OutboxRelay(database, settings, metrics, tracer)
            relay_task = asyncio.create_task(relay.run(), name=f"{definition.name}-outbox-relay")
            if definition.handlers:
                consumer = EventConsumer(
                    database=database, settings=settings, metrics=metrics,
                    topics=list(definition.consumed_topics), handlers=definition.handlers,
                    unit_of_work=definition.unit_of_work, tracer=tracer,
                )
                app.state.consumer = consumer
                consumer_task = asyncio.create_task(consumer.run(),
                                                    name=f"{definition.name}-consumer")
        backlog = OutboxBacklogMonitor(database, metrics, settings.outbox_sweep_seconds)
        backlog_task = asyncio.create_task(backlog.run(), name=f"{definition.name}-outbox-backlog")
        try:
            yield
        finally:
            # Requests have stopped; finish in-flight events, commit offsets, flush the outbox.
            if consumer_task is not None:
                await _stop_task(consumer_task, app.state.consumer.stop)
            if relay_task is not None and relay is not None:
                await _stop_task(relay_task, relay.stop)
            await _stop_task(backlog_task, backlog.stop)
            await app.state.broker_probe.close()
            await database.dispose()
            await asyncio.to_thread(tracer_provider.shutdown)  # sends the spans still batched

    app = FastAPI(title=definition.title, description=definition.description, version="1.0.0",
                  lifespan=lifespan, generate_unique_id_function=operation_id)
    app.state.settings = settings
    app.state.unit_of_work_class = definition.unit_of_work
    app.state.metrics = metrics
    app.state.tracer_provider = tracer_provider
    app.state.token_verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    # Outermost last: correlation id and server span → last-resort errors → body cap →
    # idempotency → routes.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_body_bytes,
                       bulk_limit=settings.max_bulk_request_body_bytes,
                       bulk_paths=definition.bulk_paths)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(RequestObservabilityMiddleware, metrics=metrics, tracer=tracer)
    app.include_router(health.router)
    for router in definition.routers:
        app.include_router(router)
    install_contract(app, definition.request_examples, definition.rules_beyond_schema,
                     definition.openapi_models)
    return app


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """Request-scoped unit of work: the route commits; anything else rolls back."""
    unit_of_work_class: type[UnitOfWork] = request.app.state.unit_of_work_class
    async with unit_of_work_class(request.app.state.database, request.app.state.settings) as uow:
        yield uow


def service_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


UoW = Annotated[UnitOfWork, Depends(unit_of_work)]
Settings = Annotated[ServiceSettings, Depends(service_settings)]
