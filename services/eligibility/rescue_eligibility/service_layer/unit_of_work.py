"""The unit of work the eligibility use cases take: repositories, events, one transaction.

`adapters/unit_of_work.py` binds the SQL repositories to a database transaction
(`SqlEligibilityUnitOfWork`); `tests/eligibility_fakes.py` keeps everything in memory.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from rescue_eligibility.service_layer.repositories import (
    AccessRefusals,
    ProtocolSource,
    Screenings,
    Subjects,
)
from rescue_shared.contracts.envelope import EventEnvelope


class EligibilityUnitOfWork(Protocol):
    """What a use case reaches storage, the protocol files and the outbox through."""

    @property
    def screenings(self) -> Screenings: ...

    @property
    def subjects(self) -> Subjects: ...

    @property
    def refusals(self) -> AccessRefusals: ...

    @property
    def protocols(self) -> ProtocolSource: ...

    @property
    def protocol_version(self) -> str:
        """The protocol version in force for new screenings (the PROTOCOL_VERSION setting)."""

    def emit(self, event: BaseModel | EventEnvelope[Any], *, site_id: str | None = None,
             subject_id: str | None = None, causation_id: str | None = None,
             ) -> EventEnvelope[Any]:
        """Stage an event; it is published only if this unit of work commits."""

    async def commit(self) -> None:
        """Commit everything staged."""

    async def rollback(self) -> None:
        """Undo everything staged."""
