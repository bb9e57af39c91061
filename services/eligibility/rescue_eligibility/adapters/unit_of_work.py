"""The eligibility service's unit of work on its database: the SQL repositories in one
transaction, the outbox for its events and the audit trail (`rescue_shared.audit.sql`), the
protocol files."""

from __future__ import annotations

from rescue_eligibility.adapters.protocol_files import PROTOCOL_FILES
from rescue_eligibility.adapters.repositories import SqlAccessRefusals, SqlScreenings, SqlSubjects
from rescue_eligibility.domain.criteria import Protocol
from rescue_shared.audit.sql import UnitOfWorkWithAudit
from rescue_shared.protocols import ProtocolFiles
from rescue_shared.queries.sql import SqlDataQueries


class SqlEligibilityUnitOfWork(UnitOfWorkWithAudit):
    """Implements `service_layer.unit_of_work.EligibilityUnitOfWork` on SQL."""

    screenings: SqlScreenings
    subjects: SqlSubjects
    refusals: SqlAccessRefusals
    queries: SqlDataQueries
    protocols: ProtocolFiles[Protocol] = PROTOCOL_FILES

    def open_repositories(self) -> None:
        self.screenings = SqlScreenings(self.session)
        self.subjects = SqlSubjects(self.session)
        self.refusals = SqlAccessRefusals(self.session)
        self.queries = SqlDataQueries(self.session)

    async def rollback(self) -> None:
        """Roll back; the repositories forget the rows they had claimed (now expired)."""
        await super().rollback()
        self.open_repositories()

    @property
    def protocol_version(self) -> str:
        """The protocol version in force for new screenings (PROTOCOL_VERSION)."""
        return self.settings.protocol_version
