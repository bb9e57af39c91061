"""Per-request correlation id, access log line and Prometheus counters (pure ASGI)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescue_shared.observability.context import correlation_id_var
from rescue_shared.observability.metrics import ServiceMetrics

log = logging.getLogger("rescue.http")
HEADER = b"x-correlation-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class RequestObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        correlation_id = offered if _SAFE_ID.match(offered) else str(uuid.uuid4())
        token = correlation_id_var.set(correlation_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (HEADER, correlation_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_latency.labels(method, route).observe(elapsed)
            if route not in {"/healthz", "/readyz", "/metrics"}:
                log.info("%s %s %s", method, scope["path"], status,
                         extra={"status": status, "route": route,
                                "duration_ms": round(elapsed * 1000, 1)})
            correlation_id_var.reset(token)
