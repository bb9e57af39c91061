"""The unit of work the use cases take: repositories, the protocol in force, emit and commit."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from rescue_prediction.domain.protocol import PredictionProtocol
from rescue_prediction.service_layer.repositories import (
    Ca125Repository,
    CorrectionRepository,
    OfficialKelimRepository,
    PredictionRepository,
    QuarantineRepository,
    SubjectRepository,
)
from rescue_shared.contracts.envelope import EventEnvelope


class PredictionUnitOfWork(Protocol):
    """One transaction: what it reads and writes, and the events it stages in the outbox."""

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
    def protocol(self) -> PredictionProtocol:
        """The prediction protocol in force (setting PROTOCOL_VERSION)."""
        ...

    def emit(self, event: BaseModel, *, site_id: str | None = None,
             subject_id: str | None = None, causation_id: str | None = None,
             ) -> EventEnvelope[Any]:
        """Stage an event; it is published only if this unit of work commits."""
        ...

    async def commit(self) -> None: ...
