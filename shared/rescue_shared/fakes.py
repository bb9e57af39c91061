"""In-memory stand-ins for use-case tests: no database, no broker, milliseconds per test.

A service's fake unit of work subclasses `FakeUnitOfWork` and adds in-memory repositories; the
same contract tests run against the fake and the real repositories, which keeps the fakes honest.
"""

from __future__ import annotations

import copy
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.factory import new_event

Store = TypeVar("Store")


class FakeUnitOfWork:
    """Collects emitted events; `committed` holds those of committed units only."""

    def __init__(self, producer: str = "test", trial_id: str = "NCT07295132") -> None:
        self.producer = producer
        self.trial_id = trial_id
        self.pending: list[EventEnvelope[Any]] = []
        self.committed: list[EventEnvelope[Any]] = []
        self.commits = 0

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.rollback()

    def emit(self, event: BaseModel | EventEnvelope[Any], *, site_id: str | None = None,
             subject_id: str | None = None, causation_id: str | None = None,
             ) -> EventEnvelope[Any]:
        if isinstance(event, EventEnvelope):
            envelope: EventEnvelope[Any] = event
        else:
            if site_id is None or subject_id is None:
                raise ValueError("emit(payload) needs site_id and subject_id")
            envelope = new_event(event, producer=self.producer, trial_id=self.trial_id,
                                 site_id=site_id, subject_id=subject_id,
                                 correlation_id="test-correlation", causation_id=causation_id)
        self.pending.append(envelope)
        return envelope

    async def commit(self) -> None:
        self.committed += self.pending
        self.pending = []
        self.commits += 1

    async def rollback(self) -> None:
        self.pending = []

    def payloads(self, model: type[BaseModel] | None = None) -> list[Any]:
        """Payloads of the committed events (of one model, when given), in order."""
        return [e.payload for e in self.committed
                if model is None or isinstance(e.payload, model)]


class SnapshotUnitOfWork(FakeUnitOfWork, Generic[Store]):
    """A fake whose repositories work on `work`, a copy of `store` (an object whose attributes
    hold the in-memory tables): commit copies the work back, rollback starts again from the
    store, as a database transaction would."""

    def __init__(self, store: Store, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.work = copy.deepcopy(store)

    async def commit(self) -> None:
        await super().commit()
        for name in vars(self.store):
            setattr(self.store, name, copy.deepcopy(getattr(self.work, name)))

    async def rollback(self) -> None:
        await super().rollback()
        self.work = copy.deepcopy(self.store)
