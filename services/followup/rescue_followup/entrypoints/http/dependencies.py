"""What the follow-up routes depend on: who may call them, and the unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from rescue_followup.adapters.unit_of_work import SqlFollowupUnitOfWork
from rescue_followup.domain.analysis import Population
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import unit_of_work

UoW = Annotated[SqlFollowupUnitOfWork, Depends(unit_of_work)]
Recorder = Annotated[Principal, Depends(require_roles("site_user", "investigator"))]
Analyst = Annotated[Principal, Depends(require_roles("statistician", "monitor"))]
TrialTeam = Annotated[
    Principal, Depends(require_roles("statistician", "monitor", "admin", "investigator"))
]
PopulationQuery = Annotated[Population, Query(
    description="itt: every randomized subject; excluding_invalidated: without allocations "
                "marked made in error.")]
