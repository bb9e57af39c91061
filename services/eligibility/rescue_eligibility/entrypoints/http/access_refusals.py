"""Refused subject ids, for the trial's monitors and admins (sites are never told the cause)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select

from rescue_eligibility.tables import AccessRefusal
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["access refusals"])
Overseer = Annotated[Principal, Depends(require_roles("monitor", "admin"))]


class AccessRefusalView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempted_at: datetime
    actor: str
    actor_roles: list[str]
    site_id: str | None
    subject_id: str
    action: str
    cause: str
    correlation_id: str | None


@router.get("/access-refusals", response_model=list[AccessRefusalView],
            summary="Subject ids refused to a site, and why (newest first)")
async def access_refusals(
    principal: Overseer, uow: UoW,
    site_id: Annotated[str | None, Query(description="Only attempts by this site.")] = None,
    subject_id: Annotated[str | None, Query(description="Only attempts on this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AccessRefusalView]:
    """Every refused attempt: who, from which site, on which subject id, when, doing what, and
    the cause (`another_site`, `confusable`, `reserved`)."""
    query = select(AccessRefusal).order_by(col(AccessRefusal.id).desc()).limit(limit)
    if site_id is not None:
        query = query.where(AccessRefusal.site_id == site_id)
    if subject_id is not None:
        query = query.where(AccessRefusal.subject_id == subject_id)
    return [AccessRefusalView.model_validate(r) for r in (await uow.session.exec(query)).all()]
