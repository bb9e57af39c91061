"""The unit of work the follow-up use cases take: repositories, events, one transaction.

`adapters/unit_of_work.py` binds the SQL repositories to a database transaction
(`SqlFollowupUnitOfWork`); `tests/followup_fakes.py` keeps everything in memory.
"""

from __future__ import annotations

from typing import Protocol

from rescue_followup.service_layer.repositories import (
    DataCuts,
    EligibilityDecisions,
    ParkedInvalidations,
    Predictions,
    ProtocolSource,
    Records,
    Screenings,
    Subjects,
    Visits,
)
from rescue_shared.audit.trail import AuditedUnitOfWork
from rescue_shared.queries.use_cases import DataQueries
from rescue_shared.unit_of_work_port import UnitOfWorkPort


class FollowupUnitOfWork(UnitOfWorkPort, AuditedUnitOfWork, Protocol):
    """What a use case reaches storage, the protocol files and the outbox through."""

    @property
    def subjects(self) -> Subjects: ...

    @property
    def records(self) -> Records: ...

    @property
    def visits(self) -> Visits: ...

    @property
    def screenings(self) -> Screenings: ...

    @property
    def decisions(self) -> EligibilityDecisions: ...

    @property
    def predictions(self) -> Predictions: ...

    @property
    def parked_invalidations(self) -> ParkedInvalidations: ...

    @property
    def data_cuts(self) -> DataCuts: ...

    @property
    def queries(self) -> DataQueries: ...

    @property
    def protocols(self) -> ProtocolSource: ...

    @property
    def protocol_version(self) -> str:
        """The protocol version in force for new subjects (the PROTOCOL_VERSION setting)."""
