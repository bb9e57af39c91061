"""Refused subject ids, for the trial's monitors and admins (sites are never told the cause)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rescue_eligibility.entrypoints.http.dependencies import Overseer, UoW
from rescue_eligibility.entrypoints.http.schemas import AccessRefusalView
from rescue_eligibility.service_layer.subject_ids import list_access_refusals

router = APIRouter(prefix="/v1", tags=["access refusals"])


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
    refusals = await list_access_refusals(uow, site_id=site_id, subject_id=subject_id,
                                          limit=limit)
    return [AccessRefusalView.model_validate(r) for r in refusals]
