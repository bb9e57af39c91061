"""The prediction service's unit of work on SQL: one transaction, its repositories, its outbox,
its audit trail."""

from __future__ import annotations

from rescue_prediction.adapters.protocol_files import PROTOCOL_FILES
from rescue_prediction.adapters.repositories import (
    SqlCa125Repository,
    SqlCorrectionRepository,
    SqlOfficialKelimRepository,
    SqlPredictionRepository,
    SqlQuarantineRepository,
    SqlSubjectRepository,
)
from rescue_prediction.domain.protocol import PredictionProtocol
from rescue_shared.audit.sql import UnitOfWorkWithAudit
from rescue_shared.queries.sql import SqlDataQueries


class SqlPredictionUnitOfWork(UnitOfWorkWithAudit):
    """`PredictionUnitOfWork` on the service's database (the request's or the event's)."""

    subjects: SqlSubjectRepository
    ca125: SqlCa125Repository
    corrections: SqlCorrectionRepository
    official_kelims: SqlOfficialKelimRepository
    predictions: SqlPredictionRepository
    quarantine: SqlQuarantineRepository
    queries: SqlDataQueries

    def open_repositories(self) -> None:
        self.subjects = SqlSubjectRepository(self.session)
        self.ca125 = SqlCa125Repository(self.session)
        self.corrections = SqlCorrectionRepository(self.session)
        self.official_kelims = SqlOfficialKelimRepository(self.session)
        self.predictions = SqlPredictionRepository(self.session)
        self.quarantine = SqlQuarantineRepository(self.session)
        self.queries = SqlDataQueries(self.session)

    @property
    def protocol(self) -> PredictionProtocol:
        """The prediction protocol in force (setting PROTOCOL_VERSION)."""
        return PROTOCOL_FILES.load(self.settings.protocol_version)
