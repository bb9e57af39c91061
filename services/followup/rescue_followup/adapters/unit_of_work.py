"""The follow-up service's unit of work on its database: the SQL repositories in one transaction,
the outbox for its events and the audit trail (`rescue_shared.audit.sql`), the protocol files."""

from __future__ import annotations

from rescue_followup.adapters.protocol_files import PROTOCOL_FILES
from rescue_followup.adapters.repositories import (
    SqlDataCuts,
    SqlEligibilityDecisions,
    SqlParkedInvalidations,
    SqlPredictions,
    SqlRecords,
    SqlScreenings,
    SqlSubjects,
    SqlVisits,
)
from rescue_followup.domain.protocol import FollowupProtocol
from rescue_shared.audit.sql import UnitOfWorkWithAudit
from rescue_shared.protocols import ProtocolFiles
from rescue_shared.queries.sql import SqlDataQueries


class SqlFollowupUnitOfWork(UnitOfWorkWithAudit):
    """Implements `service_layer.unit_of_work.FollowupUnitOfWork` on SQL."""

    subjects: SqlSubjects
    records: SqlRecords
    visits: SqlVisits
    screenings: SqlScreenings
    decisions: SqlEligibilityDecisions
    predictions: SqlPredictions
    parked_invalidations: SqlParkedInvalidations
    data_cuts: SqlDataCuts
    queries: SqlDataQueries
    protocols: ProtocolFiles[FollowupProtocol] = PROTOCOL_FILES

    def open_repositories(self) -> None:
        self.subjects = SqlSubjects(self.session)
        self.records = SqlRecords(self.session)
        self.visits = SqlVisits(self.session)
        self.screenings = SqlScreenings(self.session)
        self.decisions = SqlEligibilityDecisions(self.session)
        self.predictions = SqlPredictions(self.session)
        self.parked_invalidations = SqlParkedInvalidations(self.session)
        self.data_cuts = SqlDataCuts(self.session)
        self.queries = SqlDataQueries(self.session)

    @property
    def protocol_version(self) -> str:
        """The protocol version in force for new subjects (PROTOCOL_VERSION)."""
        return self.settings.protocol_version
