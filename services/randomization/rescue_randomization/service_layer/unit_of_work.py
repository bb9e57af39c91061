"""The unit of work the randomization use cases take: repositories, events, one transaction.

`adapters/unit_of_work.py` binds the SQL repositories to a database transaction
(`SqlRandomizationUnitOfWork`); `tests/fakes.py` keeps everything in memory.
"""

from __future__ import annotations

from typing import Protocol

from rescue_randomization.service_layer.repositories import (
    Allocations,
    AuditTrail,
    Candidates,
    PendingDecisions,
    Predictions,
    ProtocolSource,
    StrataVerifications,
    StratumCounters,
    Trials,
)
from rescue_shared.queries.use_cases import DataQueries
from rescue_shared.unit_of_work_port import UnitOfWorkPort


class CommitConflict(Exception):
    """The commit broke a UNIQUE constraint: another transaction used the same key first."""


class RandomizationUnitOfWork(UnitOfWorkPort, Protocol):
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
    def strata_verifications(self) -> StrataVerifications: ...

    @property
    def queries(self) -> DataQueries: ...

    @property
    def protocols(self) -> ProtocolSource: ...

    async def commit(self) -> None:
        """Commit everything staged; CommitConflict when a UNIQUE constraint refuses it."""
        ...
