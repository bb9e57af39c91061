"""Allocating, reading and invalidating randomizations (the use cases are in
`service_layer/allocations.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rescue_randomization.adapters.csv_export import randomizations_csv
from rescue_randomization.entrypoints.http.allocation_groups import AllocationGroups
from rescue_randomization.entrypoints.http.dependencies import (
    Invalidator,
    ProtocolVersion,
    Randomizer,
    TrialTeam,
    UoW,
)
from rescue_randomization.entrypoints.http.schemas import (
    InvalidationRequest,
    RandomizationRequest,
    SubjectId,
)
from rescue_randomization.service_layer import allocations
from rescue_randomization.service_layer.views import RandomizationView
from rescue_shared.auth import AnyTrialRole
from rescue_shared.service import Settings

router = APIRouter(prefix="/v1", tags=["randomizations"])


def allocation_groups(request: Request, settings: Settings, version: ProtocolVersion
                      ) -> AllocationGroups:
    """This process's allocation groups (`allocation_groups.py`), made on first use."""
    state = request.app.state
    groups: AllocationGroups | None = getattr(state, "allocation_groups", None)
    if groups is None:
        groups = state.allocation_groups = AllocationGroups(
            lambda: state.unit_of_work_class(state.database, state.settings),
            protocol_version=version, timezone=settings.trial_timezone)
    return groups


@router.post("/randomizations", status_code=201, response_model=RandomizationView,
             summary="Randomize a subject (concealed, stratified 1:1 allocation)")
async def randomize(
    body: RandomizationRequest, principal: Randomizer,
    groups: Annotated[AllocationGroups, Depends(allocation_groups)],
) -> RandomizationView:
    """Allocate an arm to a randomizable subject of the caller's site.

    409 names every unmet condition (screened, eligibility_confirmed,
    prediction_highly_likely_complete_resection, strata_facts), or returns the existing
    randomization; 422 when consent is not confirmed or a stratification fact is invalid.
    Every allocation and every refusal is written to the audit trail.
    """
    allocations.ensure_bound_to_site(principal)
    return await groups.allocate(allocations.AllocationRequest(
        principal, body.subject_id, body.consent_confirmed, body.planned_maintenance))


@router.get("/randomizations/{subject_id}", response_model=RandomizationView,
            summary="A subject's randomization (with its invalidation, if any)")
async def get_randomization(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW
) -> RandomizationView:
    return await allocations.get_randomization(uow, principal, subject_id)


@router.get("/randomizations", response_model=list[RandomizationView],
            responses={200: {"content": {"text/csv": {}}}},
            summary="Every randomization in order (an audited export; CSV with Accept: text/csv)")
async def list_randomizations(
    request: Request, principal: TrialTeam, uow: UoW, version: ProtocolVersion,
    site_id: str | None = None,
) -> list[RandomizationView] | Response:
    as_csv = "text/csv" in request.headers.get("accept", "")
    views = await allocations.list_randomizations(
        uow, principal, protocol_version=version, site_id=site_id,
        export_format="csv" if as_csv else "json")
    if as_csv:
        disposition = 'attachment; filename="randomizations.csv"'
        return Response(randomizations_csv(views), media_type="text/csv",
                        headers={"Content-Disposition": disposition})
    return views


@router.post("/randomizations/{subject_id}/invalidation", response_model=RandomizationView,
             summary="Mark an allocation as made in error (never deleted, never reused)")
async def invalidate(
    subject_id: SubjectId, body: InvalidationRequest, principal: Invalidator, uow: UoW,
    version: ProtocolVersion,
) -> RandomizationView:
    """The allocation stays (its slot stays consumed) and the subject cannot be re-randomized."""
    return await allocations.invalidate(uow, principal, subject_id=subject_id,
                                        reason=body.reason, protocol_version=version)
