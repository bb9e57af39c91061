"""The protocol's eligibility criteria, as configured (one file per protocol version)."""

from __future__ import annotations

from fastapi import APIRouter

from rescue_eligibility.domain.criteria import Protocol
from rescue_eligibility.entrypoints.http.dependencies import UoW
from rescue_eligibility.entrypoints.http.schemas import CriteriaIndex
from rescue_eligibility.service_layer.criteria import criteria_in_force, protocol_of_version
from rescue_shared.auth import AnyTrialRole

router = APIRouter(prefix="/v1", tags=["criteria"])


@router.get("/criteria", response_model=CriteriaIndex,
            summary="The criteria of the protocol version in force")
async def current_criteria(principal: AnyTrialRole, uow: UoW) -> CriteriaIndex:
    in_force = criteria_in_force(uow)
    return CriteriaIndex(current_version=in_force.current_version,
                         available_versions=in_force.available_versions,
                         protocol=in_force.protocol)


@router.get("/criteria/{version}", response_model=Protocol,
            summary="The criteria of one protocol version")
async def criteria_of_version(version: str, principal: AnyTrialRole, uow: UoW) -> Protocol:
    return protocol_of_version(uow, version)
