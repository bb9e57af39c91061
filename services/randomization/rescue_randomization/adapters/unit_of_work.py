"""The randomization service's unit of work on its database: the SQL repositories in one
transaction, the outbox for its events (`rescue_shared.db.unit_of_work.UnitOfWork`)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from rescue_randomization.adapters.protocol_files import PROTOCOL_FILES
from rescue_randomization.adapters.repositories import (
    SqlAllocations,
    SqlAuditTrail,
    SqlCandidates,
    SqlPendingDecisions,
    SqlPredictions,
    SqlStrataVerifications,
    SqlStratumCounters,
    SqlTrials,
)
from rescue_randomization.domain.protocol import RandomizationProtocol
from rescue_randomization.service_layer.unit_of_work import CommitConflict
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.protocols import ProtocolFiles
from rescue_shared.queries.sql import SqlDataQueries


class SqlRandomizationUnitOfWork(UnitOfWork):
    """Implements `service_layer.unit_of_work.RandomizationUnitOfWork` on SQL."""

    audit: SqlAuditTrail
    trials: SqlTrials
    candidates: SqlCandidates
    predictions: SqlPredictions
    pending_decisions: SqlPendingDecisions
    counters: SqlStratumCounters
    allocations: SqlAllocations
    strata_verifications: SqlStrataVerifications
    queries: SqlDataQueries
    protocols: ProtocolFiles[RandomizationProtocol] = PROTOCOL_FILES

    def open_repositories(self) -> None:
        self.audit = SqlAuditTrail(self.session)
        self.trials = SqlTrials(self.session)
        self.candidates = SqlCandidates(self.session)
        self.predictions = SqlPredictions(self.session)
        self.pending_decisions = SqlPendingDecisions(self.session)
        self.counters = SqlStratumCounters(self.session)
        self.allocations = SqlAllocations(self.session)
        self.strata_verifications = SqlStrataVerifications(self.session)
        self.queries = SqlDataQueries(self.session)

    async def commit(self) -> None:
        try:
            await super().commit()
        except IntegrityError as exc:
            raise CommitConflict(str(exc.orig)) from exc

    async def rollback(self) -> None:
        """Roll back; the repositories forget the rows they had read (now expired)."""
        await super().rollback()
        self.open_repositories()
