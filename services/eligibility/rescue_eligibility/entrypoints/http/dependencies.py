"""What the eligibility routes depend on: who may call them, and the unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from rescue_eligibility.adapters.unit_of_work import SqlEligibilityUnitOfWork
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import unit_of_work

UoW = Annotated[SqlEligibilityUnitOfWork, Depends(unit_of_work)]
Screener = Annotated[Principal, Depends(require_roles("site_user", "investigator"))]
LogReader = Annotated[Principal, Depends(require_roles(
    "site_user", "investigator", "monitor", "statistician", "admin"))]
Overseer = Annotated[Principal, Depends(require_roles("monitor", "admin"))]
