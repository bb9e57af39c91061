"""The unit of work the follow-up use cases take: repositories, events, one transaction.

`adapters/unit_of_work.py` binds the SQL repositories to a database transaction
(`SqlFollowupUnitOfWork`); `tests/followup_fakes.py` keeps everything in memory.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from rescue_followup.service_layer.repositories import (
    EligibilityDecisions,
    ParkedInvalidations,
    Predictions,
    ProtocolSource,
    Records,
    Screenings,
    Subjects,
    Visits,
)
from rescue_shared.contracts.envelope import EventEnvelope


class FollowupUnitOfWork(Protocol):
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
    def protocols(self) -> ProtocolSource: ...

    @property
    def protocol_version(self) -> str:
        """The protocol version in force for new subjects (the PROTOCOL_VERSION setting)."""

    def emit(self, event: BaseModel | EventEnvelope[Any], *, site_id: str | None = None,
             subject_id: str | None = None, causation_id: str | None = None,
             ) -> EventEnvelope[Any]:
        """Stage an event; it is published only if this unit of work commits."""

    async def commit(self) -> None:
        """Commit everything staged."""

    async def rollback(self) -> None:
        """Undo everything staged; also ends a read-only transaction before long computations
        (what was read stays usable: it is detached)."""
