"""The unit of work the use cases take: repositories, the protocol in force, emit and commit."""

from __future__ import annotations

from typing import Protocol

from rescue_prediction.domain.protocol import PredictionProtocol
from rescue_prediction.service_layer.repositories import (
    Ca125Repository,
    CorrectionRepository,
    OfficialKelimRepository,
    PredictionRepository,
    QuarantineRepository,
    SubjectRepository,
)
from rescue_shared.audit.trail import AuditedUnitOfWork
from rescue_shared.queries.use_cases import DataQueries
from rescue_shared.unit_of_work_port import UnitOfWorkPort


class PredictionUnitOfWork(UnitOfWorkPort, AuditedUnitOfWork, Protocol):
    """One transaction: what it reads and writes, the events it stages in the outbox and the
    changes it records in the audit trail."""

    @property
    def subjects(self) -> SubjectRepository: ...

    @property
    def ca125(self) -> Ca125Repository: ...

    @property
    def corrections(self) -> CorrectionRepository: ...

    @property
    def official_kelims(self) -> OfficialKelimRepository: ...

    @property
    def predictions(self) -> PredictionRepository: ...

    @property
    def quarantine(self) -> QuarantineRepository: ...

    @property
    def queries(self) -> DataQueries: ...

    @property
    def protocol(self) -> PredictionProtocol:
        """The prediction protocol in force (setting PROTOCOL_VERSION)."""
        ...
