"""Prometheus metrics of one service instance (own registry: apps never share counters).

docs/observability.md lists them with their meaning; deploy/grafana/rescue-dashboard.json reads
them (tests/unit/test_dashboard.py keeps the two in step).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# Event handling runs from a few milliseconds (an inbox hit) to seconds (a refit, a slow database).
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_* (memory, CPU, open files), python_info and python_gc_* of this process.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests by route and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.http_latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency by route.",
            ["method", "route"], registry=self.registry,
        )
        self.events_published = Counter(
            "events_published_total", "Outbox rows published to Kafka.", registry=self.registry
        )
        self.events_consumed = Counter(
            "events_consumed_total", "Events handled by type and outcome (applied/duplicate).",
            ["event_type", "outcome"], registry=self.registry,
        )
        self.events_skipped = Counter(
            "events_skipped_total", "Events not applied: unknown_type (newer producer) or "
            "not_handled (a registered type this service does not consume).",
            ["event_type", "reason"], registry=self.registry,
        )
        self.events_dead_lettered = Counter(
            "events_dead_lettered_total", "Messages sent to a dead-letter topic.",
            ["topic"], registry=self.registry,
        )
        self.event_handler_latency = Histogram(
            "event_handler_duration_seconds", "One try at applying an event (inbox check, "
            "handler, commit) by event type and outcome (applied/duplicate/failed).",
            ["event_type", "outcome"], buckets=HANDLER_BUCKETS, registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "consumer_lag_messages", "Messages of an assigned partition not applied yet "
            "(high watermark minus the next offset to apply).",
            ["topic", "partition"], registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "outbox_backlog_messages", "Outbox rows committed but not yet published to Kafka.",
            registry=self.registry,
        )
        self._oldest_unpublished_at: datetime | None = None
        Gauge(
            "outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox row "
            "(0 when the outbox is drained); keeps growing while publishing is stalled.",
            registry=self.registry,
        ).set_function(self._oldest_unpublished_age)

    def record_outbox_backlog(self, unpublished: int, oldest_created_at: datetime | None) -> None:
        """What the last look at the outbox found."""
        self.outbox_backlog.set(unpublished)
        self._oldest_unpublished_at = oldest_created_at

    def _oldest_unpublished_age(self) -> float:
        if self._oldest_unpublished_at is None:
            return 0.0
        return max(0.0, (datetime.now(UTC) - self._oldest_unpublished_at).total_seconds())
