"""OpenTelemetry traces: one tracer provider per service, W3C trace context across the outbox and
Kafka, so that one trace follows a request to every consumer of the events it caused.

Export follows the standard OTEL_* variables (the three that decide it are settings fields):
spans go out over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and OTEL_TRACES_EXPORTER is not `none`; otherwise spans
are kept nowhere, yet every request still gets a trace id (in the logs) and the context still
travels with the events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from rescue_shared.settings import ServiceSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

INSTRUMENTATION_NAME = "rescue_shared"
# W3C Trace Context only (traceparent, tracestate): what crosses the outbox and Kafka headers.
_W3C = TraceContextTextMapPropagator()
TRACE_HEADERS = frozenset(_W3C.fields)


def otlp_traces_endpoint(settings: ServiceSettings) -> str | None:
    """Where spans are to be sent (the OTLP/HTTP traces URL), or None: no export."""
    if settings.otel_traces_exporter == "none":
        return None
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    if settings.otel_exporter_otlp_endpoint:
        return settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    return None


def build_tracer_provider(settings: ServiceSettings) -> TracerProvider:
    """The service's tracer provider (service.name = the service); its owner shuts it down.

    The OTLP exporter (protobuf, requests) is imported only when export is configured.
    Sampling (OTEL_TRACES_SAMPLER), extra resource attributes (OTEL_RESOURCE_ATTRIBUTES) and the
    exporter's headers, timeout and compression are read by the SDK from the environment.
    """
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_NAMESPACE, Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({SERVICE_NAME: settings.service_name,
                                SERVICE_NAMESPACE: "rescue"})
    # Not shut down at exit by the SDK: the app's lifespan does it (and tests build many).
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    if (endpoint := otlp_traces_endpoint(settings)) is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def inject_trace_context(carrier: dict[str, str]) -> None:
    """Write the current span's W3C context (traceparent, tracestate) into `carrier`."""
    _W3C.inject(carrier)


def context_from_headers(headers: Iterable[tuple[str | bytes, str | bytes]] | None) -> Context:
    """The W3C context carried by HTTP (ASGI) or Kafka headers; empty when there is none."""
    carrier: dict[str, str] = {}
    for name, value in headers or ():
        key = (name.decode("latin-1") if isinstance(name, bytes) else name).lower()
        if key in TRACE_HEADERS:
            carrier[key] = value.decode("latin-1") if isinstance(value, bytes) else value
    return _W3C.extract(carrier)


def current_trace_ids() -> tuple[str | None, str | None]:
    """(trace_id, span_id) of the current span in hex, for log lines; (None, None) outside."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


@contextlib.contextmanager
def publishing(tracer: Tracer, topic: str, row_headers: Mapping[str, str], *,
               event_type: str, event_id: str) -> Iterator[list[tuple[str, bytes]]]:
    """A PRODUCER span for one outbox row's send, child of the context the row was emitted in;
    yields the Kafka headers to send, whose traceparent is now this span's, so that consumers'
    spans hang below the publication."""
    with tracer.start_as_current_span(
        f"publish {topic}", context=context_from_headers(row_headers.items()),
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.operation.type": "send",
                    "messaging.destination.name": topic, "messaging.message.id": event_id,
                    "rescue.event_type": event_type},
    ):
        headers = {k: v for k, v in row_headers.items() if k not in TRACE_HEADERS}
        inject_trace_context(headers)
        yield [(k, v.encode()) for k, v in headers.items()]


@contextlib.contextmanager
def consuming(tracer: Tracer, *, topic: str, partition: int, offset: int, consumer_group: str,
              headers: Iterable[tuple[str, bytes]] | None) -> Iterator[trace.Span]:
    """A CONSUMER span for one Kafka message, child of the publication that sent it."""
    with tracer.start_as_current_span(
        f"process {topic}", context=context_from_headers(headers), kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.operation.type": "process",
                    "messaging.destination.name": topic,
                    "messaging.destination.partition.id": str(partition),
                    "messaging.kafka.offset": offset,
                    "messaging.consumer.group.name": consumer_group},
    ) as span:
        yield span
