"""Unit of work: one transaction; events added to it go to the outbox in that same transaction."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.factory import new_event
from rescue_shared.contracts.registry import event_type_of
from rescue_shared.db.engine import Database
from rescue_shared.db.platform_tables import IdempotencyRecord, OutboxMessage, utcnow
from rescue_shared.observability.context import current_correlation_id, idempotency_claim_var
from rescue_shared.observability.tracing import inject_trace_context
from rescue_shared.settings import ServiceSettings


class UnitOfWork:
    """Rolls back unless `commit()` is called; wakes the outbox relay after a commit with events.

    A service subclasses it to add its repositories (`open_repositories`), so that its use cases
    reach storage only through them; the consumer and the HTTP dependency build the subclass
    named in the service's definition.
    """

    def __init__(self, database: Database, settings: ServiceSettings) -> None:
        self._database = database
        self._settings = settings
        self._has_events = False
        self._emitted: list[EventEnvelope[Any]] = []
        self.session: AsyncSession

    @property
    def settings(self) -> ServiceSettings:
        """The settings of the service this unit of work belongs to (producer name, trial id)."""
        return self._settings

    async def __aenter__(self) -> Self:
        self.session = self._database.session()
        self.open_repositories()
        return self

    def open_repositories(self) -> None:
        """Bind the service's repositories to `self.session` (subclasses override)."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    def emit(self, event: BaseModel | EventEnvelope[Any], *, site_id: str | None = None,
             subject_id: str | None = None, causation_id: str | None = None,
             ) -> EventEnvelope[Any]:
        """Stage an event in the outbox; it is published only if this unit of work commits.

        `event` is a registered payload (the envelope is filled in: this service as producer,
        the trial, the flow's correlation id; `site_id` and `subject_id` are required) or an
        envelope built beforehand. Returns the envelope staged.
        """
        if isinstance(event, EventEnvelope):
            envelope: EventEnvelope[Any] = event
        else:
            if site_id is None or subject_id is None:
                raise ValueError("emit(payload) needs site_id and subject_id")
            envelope = new_event(event, producer=self._settings.service_name,
                                 trial_id=self._settings.trial_id, site_id=site_id,
                                 subject_id=subject_id, correlation_id=current_correlation_id(),
                                 causation_id=causation_id)
        spec = event_type_of(type(envelope.payload))
        headers = {
            "event_id": str(envelope.event_id),
            "event_type": envelope.event_type,
            "schema_version": str(envelope.schema_version),
            "correlation_id": envelope.correlation_id,
            "producer": envelope.producer,
        }
        # traceparent/tracestate of the request or event being handled: the relay continues it.
        inject_trace_context(headers)
        self.session.add(
            OutboxMessage(
                event_id=str(envelope.event_id),
                event_type=envelope.event_type,
                topic=self._settings.topic(spec.topic.name),
                message_key=envelope.subject_id,
                value=envelope.model_dump_json(),
                headers=json.dumps(headers),
            )
        )
        self._has_events = True
        self._emitted.append(envelope)
        return envelope

    async def commit(self) -> None:
        await self.record_request_effect()
        await self.session.commit()
        self._emitted = []
        if self._has_events:
            self._has_events = False
            self._database.outbox_committed.set()

    async def record_request_effect(self) -> None:
        """Inside a request holding an Idempotency-Key, record in this very transaction that its
        effect is committed (and which events it emitted since the last call): a retry after a
        crash that lost the answer then never applies the request a second time. `commit` calls
        it; a unit of work serving several requests (a group commit) calls it in each request's
        context after that request's part."""
        claim = idempotency_claim_var.get()
        emitted, self._emitted = self._emitted, []
        if claim is None:
            return
        caller, key = claim
        events = [{"event_type": e.event_type, "event_id": str(e.event_id),
                   "subject_id": e.subject_id} for e in emitted]
        await self.session.exec(
            update(IdempotencyRecord)
            .where(col(IdempotencyRecord.caller) == caller, col(IdempotencyRecord.key) == key)
            .values(effect_committed_at=utcnow(), effect_events=json.dumps(events)))

    async def rollback(self) -> None:
        await self.session.rollback()
        self._has_events = False
        self._emitted = []
