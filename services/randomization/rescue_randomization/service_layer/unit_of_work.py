"""The unit of work the randomization use cases take: repositories, events, one transaction.

`adapters/unit_of_work.py` binds the SQL repositories to a database transaction
(`SqlRandomizationUnitOfWork`); `tests/fakes.py` keeps everything in memory.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from rescue_randomization.service_layer.repositories import (
    Allocations,
    AuditTrail,
    Candidates,
    PendingDecisions,
    Predictions,
    ProtocolSource,
    StratumCounters,
    Trials,
)
from rescue_shared.contracts.envelope import EventEnvelope


class CommitConflict(Exception):
    """The commit broke a UNIQUE constraint: another transaction used the same key first."""


class RandomizationUnitOfWork(Protocol):
    """What a use case reaches storage and the outbox through."""

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def trials(self) -> Trials: ...

    @property
    def candidates(self) -> Candidates: ...

    @property
    def predictions(self) -> Predictions: ...

    @property
    def pending_decisions(self) -> PendingDecisions: ...

    @property
    def counters(self) -> StratumCounters: ...

    @property
    def allocations(self) -> Allocations: ...

    @property
    def protocols(self) -> ProtocolSource: ...

    def emit(self, event: BaseModel | EventEnvelope[Any], *, site_id: str | None = None,
             subject_id: str | None = None, causation_id: str | None = None,
             ) -> EventEnvelope[Any]:
        """Stage an event; it is published only if this unit of work commits."""

    async def commit(self) -> None:
        """Commit everything staged; CommitConflict when a UNIQUE constraint refuses it."""

    async def rollback(self) -> None:
        """Undo everything staged (repositories forget what they had read)."""
