"""Watches the outbox for the `outbox_backlog_messages` and
`outbox_oldest_unpublished_age_seconds` gauges.

A task of its own rather than a step of the relay's pass: it keeps reporting when the relay is
stuck, failing or waiting for another replica's lock (exactly when the numbers matter), and it
costs one indexed look every `outbox_sweep_seconds` whatever the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlmodel import col, func, select

from rescue_shared.db.engine import Database
from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.observability.metrics import ServiceMetrics

log = logging.getLogger(__name__)


class OutboxBacklogMonitor:
    def __init__(self, database: Database, metrics: ServiceMetrics, interval: float) -> None:
        self._database = database
        self._metrics = metrics
        self._interval = interval
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Measure every `interval` seconds until `stop()`; a failed look is logged and retried."""
        while not self._stopping.is_set():
            try:
                await self.measure()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("outbox backlog not measured: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    async def stop(self) -> None:
        self._stopping.set()

    async def measure(self) -> None:
        """Count the unpublished rows and read the oldest one's commit time (both by the
        (published_at, id) index)."""
        unpublished = col(OutboxMessage.published_at).is_(None)
        async with self._database.session() as session:
            count = (await session.exec(
                select(func.count()).select_from(OutboxMessage).where(unpublished))).one()
            oldest = (await session.exec(
                select(OutboxMessage.created_at).where(unpublished)
                .order_by(col(OutboxMessage.id)).limit(1))).first()
        self._metrics.record_outbox_backlog(count, oldest)
