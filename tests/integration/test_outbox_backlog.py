"""The outbox gauges report what waits to be published, on both engines."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlmodel import col

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_shared.db.engine import Database
from rescue_shared.db.migrations import upgrade_to_head
from rescue_shared.db.platform_tables import OutboxMessage, utcnow
from rescue_shared.messaging.outbox_backlog import OutboxBacklogMonitor
from rescue_shared.observability.metrics import ServiceMetrics

pytestmark = pytest.mark.integration


def gauges(metrics: ServiceMetrics) -> dict[str, float]:
    text = generate_latest(metrics.registry).decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name.startswith("outbox_")}


async def test_backlog_and_oldest_age_follow_the_unpublished_rows(database_url: str) -> None:
    await upgrade_to_head(database_url, ELIGIBILITY.migrations)
    database = Database(database_url)
    metrics = ServiceMetrics()
    monitor = OutboxBacklogMonitor(database, metrics, interval=60)
    try:
        await monitor.measure()
        assert gauges(metrics) == {"outbox_backlog_messages": 0.0,
                                   "outbox_oldest_unpublished_age_seconds": 0.0}

        committed = utcnow()
        async with database.session() as session, session.begin():
            for age_minutes in (10, 5, 0):  # in id order, as commits write them
                session.add(OutboxMessage(
                    event_id=str(uuid.uuid4()), event_type="test.waiting", topic="t",
                    message_key="S01-0001", value="{}", headers=json.dumps({}),
                    created_at=committed - timedelta(minutes=age_minutes)))
        await monitor.measure()
        found = gauges(metrics)
        assert found["outbox_backlog_messages"] == 3
        assert 600 <= found["outbox_oldest_unpublished_age_seconds"] < 660

        async with database.session() as session, session.begin():
            oldest = await session.exec(
                update(OutboxMessage).where(col(OutboxMessage.event_type) == "test.waiting",
                                            col(OutboxMessage.created_at) < committed
                                            - timedelta(minutes=1))
                .values(published_at=utcnow()))  # type: ignore[call-overload]
            assert oldest.rowcount == 2
        await monitor.measure()
        found = gauges(metrics)
        assert found["outbox_backlog_messages"] == 1
        assert found["outbox_oldest_unpublished_age_seconds"] < 60
    finally:
        await database.dispose()
