"""What every service's use cases need from a unit of work, besides its own repositories.

Each service declares `class <Svc>UnitOfWork(UnitOfWorkPort, Protocol)` with its repositories;
the SQL unit of work (`rescue_shared.db.unit_of_work.UnitOfWork` subclasses) and the in-memory
fakes (`rescue_shared.fakes`) both satisfy it.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from rescue_shared.contracts.envelope import EventEnvelope


class UnitOfWorkPort(Protocol):
    def emit(self, event: BaseModel | EventEnvelope[Any], *, site_id: str | None = None,
             subject_id: str | None = None, causation_id: str | None = None,
             ) -> EventEnvelope[Any]:
        """Stage an event; it is published only if this unit of work commits."""
        ...

    async def commit(self) -> None:
        """Commit everything staged."""
        ...

    async def rollback(self) -> None:
        """Undo everything staged (also ends a read-only transaction before long work)."""
        ...
