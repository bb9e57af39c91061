"""Prometheus metrics of one service instance (own registry: apps never share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
