"""Every JSON log line names its flow: the correlation id, and the trace and span it was
written in."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import format_span_id, format_trace_id

from rescue_shared.observability.context import correlation_id_var
from rescue_shared.observability.logging import JsonFormatter


def line(message: str) -> dict[str, object]:
    record = logging.LogRecord("rescue.test", logging.INFO, __file__, 1, message, None, None)
    return json.loads(JsonFormatter("eligibility").format(record))  # type: ignore[no-any-return]


def test_a_line_written_in_a_span_carries_its_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    token = correlation_id_var.set("req-1")
    try:
        with tracer.start_as_current_span("request") as span:
            entry = line("screened")
    finally:
        correlation_id_var.reset(token)
    context = span.get_span_context()
    assert entry["correlation_id"] == "req-1"
    assert entry["trace_id"] == format_trace_id(context.trace_id)
    assert entry["span_id"] == format_span_id(context.span_id)
    assert entry["service"] == "eligibility" and entry["message"] == "screened"


def test_a_line_outside_any_flow_says_so() -> None:
    entry = line("relay started")
    assert (entry["correlation_id"], entry["trace_id"], entry["span_id"]) == (None, None, None)
