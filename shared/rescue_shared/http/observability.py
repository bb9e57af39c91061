"""Per-request correlation id, server span, access log line and Prometheus counters (pure ASGI)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescue_shared.observability.context import correlation_id_var
from rescue_shared.observability.metrics import ServiceMetrics
from rescue_shared.observability.tracing import context_from_headers

log = logging.getLogger("rescue.http")
HEADER = b"x-correlation-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# Probes and scrapes: neither logged nor traced (they would drown the requests that matter).
_OPERATIONS_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, tracer: Tracer | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer or trace.get_tracer(__name__)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        correlation_id = offered if _SAFE_ID.match(offered) else str(uuid.uuid4())
        token = correlation_id_var.set(correlation_id)
        try:
            if scope["path"] in _OPERATIONS_ROUTES:
                await self._observe(scope, receive, send, correlation_id)
                return
            # A caller's traceparent is continued; without one the request starts a trace.
            with self.tracer.start_as_current_span(
                scope["method"], context=context_from_headers(scope["headers"]),
                kind=SpanKind.SERVER,
                attributes={"http.request.method": scope["method"], "url.path": scope["path"],
                            "rescue.correlation_id": correlation_id},
            ):
                await self._observe(scope, receive, send, correlation_id)
        finally:
            correlation_id_var.reset(token)

    async def _observe(self, scope: Scope, receive: Receive, send: Send,
                       correlation_id: str) -> None:
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
            if route not in _OPERATIONS_ROUTES:
                span = trace.get_current_span()
                span.update_name(f"{method} {route}")
                span.set_attributes({"http.route": route, "http.response.status_code": status})
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
                log.info("%s %s %s", method, scope["path"], status,
                         extra={"status": status, "route": route,
                                "duration_ms": round(elapsed * 1000, 1)})
