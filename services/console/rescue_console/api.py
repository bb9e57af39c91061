"""The four services' HTTP APIs, called with the signed-in user's token."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from rescue_console.api_errors import ApiError, from_problem, unreachable
from rescue_console.settings import SERVICES, ConsoleSettings


def build_clients(settings: ConsoleSettings,
                  transports: dict[str, httpx.AsyncBaseTransport] | None = None,
                  ) -> dict[str, httpx.AsyncClient]:
    """One pooled client per service (tests may hand in-process transports)."""
    transports = transports or {}
    return {name: httpx.AsyncClient(base_url=settings.service_url(name),
                                    timeout=settings.request_timeout_seconds,
                                    transport=transports.get(name))
            for name in SERVICES}


class Api:
    """What one request of one user may ask the services; errors become ApiError."""

    def __init__(self, clients: dict[str, httpx.AsyncClient], token: str | None) -> None:
        self._clients = clients
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def _send(self, service: str, method: str, path: str, *,
                    labels: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        headers = self._headers | kwargs.pop("headers", {})
        try:
            response = await self._clients[service].request(method, path, headers=headers,
                                                             **kwargs)
        except httpx.HTTPError as exc:
            raise unreachable(service) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise from_problem(service, response.status_code, body, labels)
        return response

    async def get(self, service: str, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return (await self._send(service, "GET", path, params=clean)).json()

    async def get_or_none(self, service: str, path: str, **params: Any) -> Any:
        """The resource, or None when the service does not know it (yet)."""
        try:
            return await self.get(service, path, **params)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def download(self, service: str, path: str, **params: Any) -> httpx.Response:
        clean = {k: v for k, v in params.items() if v is not None}
        return await self._send(service, "GET", path, params=clean)

    async def post(self, service: str, path: str, body: dict[str, Any], *,
                   idempotency_key: str | None = None,
                   labels: dict[str, str] | None = None) -> Any:
        """A write, with an Idempotency-Key so that a repeated submission changes nothing."""
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        response = await self._send(service, "POST", path, json=body, headers=headers,
                                    labels=labels)
        return response.json()

    async def metrics(self, service: str) -> str:
        """The service's Prometheus metrics (public, no token)."""
        return (await self._send(service, "GET", "/metrics")).text
