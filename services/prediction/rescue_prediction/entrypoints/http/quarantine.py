"""Quarantine: values sent for a subject before her screening by a site other than the
screening's (see `service_layer/quarantine.py`), shown to monitors and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from rescue_prediction.domain.model import SUBJECT_ID_PATTERN
from rescue_prediction.entrypoints.http.dependencies import UoW
from rescue_prediction.service_layer import quarantine
from rescue_shared.auth import Principal, require_roles

router = APIRouter(prefix="/v1", tags=["quarantine"])


class QuarantinedView(BaseModel):
    id: int
    subject_id: str
    kind: str = Field(description="ca125 | ca125_correction | kelim_external | "
                                  "chemotherapy_start_date")
    sent_by_site_id: str
    screened_at_site_id: str
    screening_id: str
    received_by: str | None
    received_at: datetime | None = Field(description="When the site sent it (UTC).")
    payload: dict[str, Any] = Field(description="The value as it was stored when sent.")
    reason: str
    quarantined_at: datetime


Overseer = Depends(require_roles("monitor", "admin"))


@router.get("/quarantine", response_model=list[QuarantinedView],
            summary="Values set aside: sent for a subject by a site other than her screening's",
            responses={403: {"description": "Monitors and admins only"}})
async def list_quarantine(
    uow: UoW, principal: Principal = Overseer,
    subject_id: str | None = Query(None, pattern=SUBJECT_ID_PATTERN,
                                   description="Only this subject's items."),
) -> list[QuarantinedView]:
    """Every quarantined item, oldest first. None of them is used in any prediction."""
    return [QuarantinedView.model_validate(item, from_attributes=True)
            for item in await quarantine.list_quarantine(uow, subject_id)]
