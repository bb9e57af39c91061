"""Spans leave by OTLP/HTTP when an endpoint is configured, and the outbox row carries the
request's trace: shown on the eligibility service with a local OTLP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from harness import ELIGIBLE_FACTS
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from sqlmodel import select

from rescue_eligibility.app import DEFINITION
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.observability.tracing import otlp_traces_endpoint
from rescue_shared.settings import ServiceSettings
from rescue_shared.testing import auth, run_service, settings_for

pytestmark = pytest.mark.integration
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class OtlpReceiver(ThreadingHTTPServer):
    """An OTLP/HTTP collector's trace endpoint: keeps every export request it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ExportHandler)
        self.exports: list[ExportTraceServiceRequest] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[tuple[str, Span]]:
        """(service.name, span) of everything received."""
        found = []
        for export in self.exports:
            for resource_spans in export.resource_spans:
                attributes = {a.key: a.value.string_value
                              for a in resource_spans.resource.attributes}
                found += [(attributes["service.name"], span)
                          for scope in resource_spans.scope_spans for span in scope.spans]
        return found


class _ExportHandler(BaseHTTPRequestHandler):
    server: OtlpReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.path == "/v1/traces"
        self.server.exports.append(ExportTraceServiceRequest.FromString(body))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


async def screen_once(tmp_path: Path) -> list[OutboxMessage]:
    """One screening (continuing a caller's trace) and a health probe; the outbox rows."""
    settings = settings_for(EligibilitySettings, messaging_enabled=False,
                            database_url=f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    async with run_service(DEFINITION, settings) as service:
        response = await service.client.post(
            "/v1/screenings", headers={**auth("S01", "site_user"),
                                       "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
            json={"subject_id": "S01-0001", "screening_date": "2026-03-02",
                  "facts": ELIGIBLE_FACTS})
        assert response.status_code == 201, response.text
        assert (await service.client.get("/healthz")).status_code == 200
        async with service.app.state.database.session() as session:
            return list((await session.exec(select(OutboxMessage))).all())
    # Leaving the service shuts its tracer provider down, which sends what is batched.


async def test_spans_go_to_the_otlp_endpoint_and_the_outbox_row_carries_the_trace(
    receiver: OtlpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    rows = await screen_once(tmp_path)

    [(service, request)] = receiver.spans()  # the probe is not traced
    assert service == "eligibility"
    assert request.name == "POST /v1/screenings" and request.kind == Span.SPAN_KIND_SERVER
    assert request.trace_id.hex() == CALLER_TRACE  # the caller's trace goes on
    assert request.parent_span_id.hex() == CALLER_SPAN
    attributes = {a.key: a.value for a in request.attributes}
    assert attributes["http.response.status_code"].int_value == 201

    [row] = rows
    headers = json.loads(row.headers)
    assert headers["traceparent"] == f"00-{CALLER_TRACE}-{request.span_id.hex()}-01"
    assert headers["event_type"] == "eligibility.screened"


async def test_nothing_is_sent_when_the_exporter_is_none(
    receiver: OtlpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    [row] = await screen_once(tmp_path)
    assert receiver.exports == []
    # Not exported, yet the context still travels with the event.
    assert json.loads(row.headers)["traceparent"].startswith(f"00-{CALLER_TRACE}-")


@pytest.mark.parametrize(("environ", "endpoint"), [
    ({}, None),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example/otlp"},
     "https://traces.example/otlp"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"},
     None),
])
def test_export_only_when_an_endpoint_is_configured(
    environ: dict[str, str], endpoint: str | None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert otlp_traces_endpoint(ServiceSettings(service_name="eligibility")) == endpoint


def test_an_unknown_exporter_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ValueError, match="otel_traces_exporter"):
        ServiceSettings(service_name="eligibility")
