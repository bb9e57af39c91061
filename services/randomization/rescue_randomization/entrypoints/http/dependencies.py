"""What the randomization routes depend on: who may call them, the unit of work, the protocol
version in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from rescue_randomization.adapters.unit_of_work import SqlRandomizationUnitOfWork
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import Settings, unit_of_work

Randomizer = Annotated[Principal, Depends(require_roles("site_user", "investigator"))]
Invalidator = Annotated[Principal, Depends(require_roles("investigator", "admin"))]
TrialTeam = Annotated[Principal, Depends(require_roles("monitor", "statistician"))]
Auditor = Annotated[Principal, Depends(require_roles("monitor", "admin"))]
TrialReader = Annotated[Principal, Depends(require_roles("statistician", "monitor", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]

UoW = Annotated[SqlRandomizationUnitOfWork, Depends(unit_of_work)]


def protocol_version(settings: Settings) -> str:
    """The protocol version in force (PROTOCOL_VERSION; RANDOMIZATION_PROTOCOL_VERSION too)."""
    return settings.protocol_version


ProtocolVersion = Annotated[str, Depends(protocol_version)]
