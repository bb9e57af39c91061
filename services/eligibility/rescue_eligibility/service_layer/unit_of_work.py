"""The unit of work the eligibility use cases take: repositories, events, one transaction.

`adapters/unit_of_work.py` binds the SQL repositories to a database transaction
(`SqlEligibilityUnitOfWork`); `tests/eligibility_fakes.py` keeps everything in memory.
"""

from __future__ import annotations

from typing import Protocol

from rescue_eligibility.service_layer.repositories import (
    AccessRefusals,
    ProtocolSource,
    Screenings,
    Subjects,
)
from rescue_shared.audit.trail import AuditedUnitOfWork
from rescue_shared.queries.use_cases import DataQueries
from rescue_shared.unit_of_work_port import UnitOfWorkPort


class EligibilityUnitOfWork(UnitOfWorkPort, AuditedUnitOfWork, Protocol):
    """What a use case reaches storage, the protocol files, the outbox and the audit trail
    through."""

    @property
    def screenings(self) -> Screenings: ...

    @property
    def subjects(self) -> Subjects: ...

    @property
    def refusals(self) -> AccessRefusals: ...

    @property
    def queries(self) -> DataQueries: ...

    @property
    def protocols(self) -> ProtocolSource: ...

    @property
    def protocol_version(self) -> str:
        """The protocol version in force for new screenings (the PROTOCOL_VERSION setting)."""
