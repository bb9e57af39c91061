"""Liveness, readiness (database and broker reachable) and the Prometheus endpoint."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaClient
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from rescue_shared.http.problems import Problem
from rescue_shared.settings import ServiceSettings

router = APIRouter(tags=["operations"])


class BrokerProbe:
    """Asks the broker for cluster metadata; reconnects after a failure."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._client: AIOKafkaClient | None = None

    async def check(self, timeout: float = 3.0) -> None:
        if self._client is None:
            self._client = AIOKafkaClient(
                bootstrap_servers=self._settings.kafka_bootstrap_servers,
                client_id=f"{self._settings.service_name}-readiness",
            )
            try:
                await asyncio.wait_for(self._client.bootstrap(), timeout)
            except BaseException:
                await self.close()
                raise
        try:
            await asyncio.wait_for(self._client.fetch_all_metadata(), timeout)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database and Kafka reachable",
            responses={503: {"description": "a dependency is unreachable"}})
async def readyz(request: Request) -> dict[str, object]:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(state.database.ping(), 3.0)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if state.settings.messaging_enabled:
        try:
            await state.broker_probe.check()
            checks["kafka"] = "ok"
        except Exception as exc:
            checks["kafka"] = f"unreachable: {type(exc).__name__}"
    if any(v != "ok" for v in checks.values()):
        raise Problem(503, "Not ready", "a dependency is unreachable", checks=checks)
    return {"status": "ready", "checks": checks}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
