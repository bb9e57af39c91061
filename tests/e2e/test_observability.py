"""A stalled or slow flow is visible: one trace from the screening request to its three consumers
(through the outbox and real Kafka), its trace id in the JSON log line, and the metrics of lag,
backlog, dead letters and handler latency on each service's /metrics."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer
from harness import Platform, new_subject, screen, seen_everywhere
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id
from prometheus_client.parser import text_string_to_metric_families

from rescue_shared.observability.logging import JsonFormatter
from rescue_shared.testing import eventually

pytestmark = pytest.mark.e2e
CONSUMERS = ("prediction", "randomization", "followup")


@pytest.fixture
def spans(platform: Platform) -> InMemorySpanExporter:
    """Every span the four services end from now on."""
    exporter = InMemorySpanExporter()
    for running in platform.services.values():
        running.app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    """The JSON lines of the access log, formatted as the services write them."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger("rescue.http")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


def the_one(candidates: list[ReadableSpan], description: str) -> ReadableSpan:
    assert len(candidates) == 1, f"{description}: {[(s.name, service_of(s)) for s in candidates]}"
    return candidates[0]


async def test_one_trace_follows_a_screening_through_kafka_to_its_three_consumers(
    platform: Platform, spans: InMemorySpanExporter, access_log: io.StringIO,
) -> None:
    subject_id = new_subject()
    correlation_id = f"trace-{uuid.uuid4().hex[:8]}"
    await screen(platform, subject_id, **{"X-Correlation-Id": correlation_id})
    await eventually(lambda: seen_everywhere(platform, subject_id),
                     description="screening applied by every consumer")

    async def whole_trace() -> list[ReadableSpan]:
        ended = list(spans.get_finished_spans())
        request = the_one([s for s in ended if s.kind is SpanKind.SERVER
                           and s.name == "POST /v1/screenings"], "screening request span")
        in_trace = [s for s in ended if s.context.trace_id == request.context.trace_id]
        assert {service_of(s) for s in in_trace if s.name.startswith("apply ")} == set(CONSUMERS)
        return in_trace

    trace = await eventually(whole_trace, description="spans of every consumer")
    request = the_one([s for s in trace if s.kind is SpanKind.SERVER], "server span")
    assert service_of(request) == "eligibility" and request.parent is None
    assert request.attributes is not None
    assert request.attributes["http.route"] == "/v1/screenings"
    assert request.attributes["http.response.status_code"] == 201
    assert request.attributes["rescue.correlation_id"] == correlation_id

    topic = f"{platform.namespace}rescue.eligibility.v1"
    publish = the_one([s for s in trace if s.kind is SpanKind.PRODUCER], "publish span")
    assert publish.name == f"publish {topic}" and service_of(publish) == "eligibility"
    assert publish.parent is not None and publish.parent.span_id == request.context.span_id

    for service in CONSUMERS:
        process = the_one([s for s in trace if s.kind is SpanKind.CONSUMER
                           and service_of(s) == service], f"{service} consumer span")
        assert process.name == f"process {topic}"
        assert process.parent is not None and process.parent.span_id == publish.context.span_id
        assert process.attributes is not None
        assert process.attributes["rescue.event_type"] == "eligibility.screened"
        assert process.attributes["messaging.consumer.group.name"] == (
            f"{platform.namespace}{service}")
        apply = the_one([s for s in trace if s.name == "apply eligibility.screened"
                         and service_of(s) == service], f"{service} transaction span")
        assert apply.parent is not None and apply.parent.span_id == process.context.span_id
        assert apply.attributes is not None and apply.attributes["rescue.outcome"] == "applied"

    logged = [json.loads(line) for line in access_log.getvalue().splitlines()]
    [line] = [e for e in logged if e["route"] == "/v1/screenings"]
    assert line["correlation_id"] == correlation_id
    assert line["trace_id"] == format_trace_id(request.context.trace_id)
    assert line["span_id"] == format_span_id(request.context.span_id)


async def metric_samples(platform: Platform, service: str) -> dict[str, list[
        tuple[dict[str, str], float]]]:
    """Every sample of the service's /metrics by name, as Prometheus would scrape them."""
    response = await platform[service].client.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


async def test_metrics_show_lag_backlog_dead_letters_and_handler_latency(
    platform: Platform, spans: InMemorySpanExporter,
) -> None:
    topic = f"{platform.namespace}rescue.eligibility.v1"
    producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{not json", key=b"S01-poison")
    finally:
        await producer.stop()
    subject_id = new_subject()
    await screen(platform, subject_id)
    await eventually(lambda: seen_everywhere(platform, subject_id),
                     description="screening applied by every consumer")

    async def drained() -> bool:
        samples = await metric_samples(platform, "eligibility")
        assert samples["events_published_total"][0][1] >= 1
        assert samples["outbox_backlog_messages"] == [({}, 0.0)]
        assert samples["outbox_oldest_unpublished_age_seconds"] == [({}, 0.0)]
        return True

    await eventually(drained, description="eligibility's outbox reported drained")

    for service in CONSUMERS:
        async def caught_up(service: str = service) -> bool:
            samples = await metric_samples(platform, service)
            lag = {int(labels["partition"]): value
                   for labels, value in samples.get("consumer_lag_messages", [])
                   if labels["topic"] == topic}
            # Every partition of the topic is assigned to the one member, and nothing waits.
            assert lag == {0: 0.0, 1: 0.0, 2: 0.0}
            assert samples["events_dead_lettered_total"] == [({"topic": topic}, 1.0)]
            applied = {labels["event_type"]: value for labels, value
                       in samples["event_handler_duration_seconds_count"]
                       if labels["outcome"] == "applied"}
            assert applied.get("eligibility.screened", 0) >= 1
            assert samples["process_resident_memory_bytes"][0][1] > 0
            assert samples["process_cpu_seconds_total"][0][1] > 0
            return True

        await eventually(caught_up, description=f"{service}'s metrics")

    # The poison message's consumer spans say why it went nowhere.
    dead = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER
            and any(e.name == "dead_lettered" for e in s.events)]
    assert sorted(service_of(s) for s in dead) == sorted(CONSUMERS)
    assert all(s.status.status_code is StatusCode.ERROR for s in dead)

    # Requests are counted per route and answered with their latency.
    samples = await metric_samples(platform, "eligibility")
    assert ({"method": "POST", "route": "/v1/screenings", "status": "201"}, 1.0) in samples[
        "http_requests_total"]
    assert any(labels.get("route") == "/v1/screenings"
               for labels, _ in samples["http_request_duration_seconds_count"])
