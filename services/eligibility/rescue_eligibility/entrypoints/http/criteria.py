"""The protocol's eligibility criteria, as configured (one file per protocol version)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from rescue_eligibility.api import PROTOCOL_VERSION
from rescue_eligibility.domain.criteria import (
    Protocol,
    UnknownProtocolVersionError,
    available_versions,
    load_protocol,
)
from rescue_shared.auth import AnyTrialRole
from rescue_shared.http.problems import Problem

router = APIRouter(prefix="/v1", tags=["criteria"])


class CriteriaIndex(BaseModel):
    current_version: str
    available_versions: list[str]
    protocol: Protocol


@router.get("/criteria", response_model=CriteriaIndex,
            summary="The criteria of the protocol version in force")
async def current_criteria(principal: AnyTrialRole) -> CriteriaIndex:
    return CriteriaIndex(current_version=PROTOCOL_VERSION,
                         available_versions=available_versions(),
                         protocol=load_protocol(PROTOCOL_VERSION))


@router.get("/criteria/{version}", response_model=Protocol,
            summary="The criteria of one protocol version")
async def criteria_of_version(version: str, principal: AnyTrialRole) -> Protocol:
    try:
        return load_protocol(version)
    except UnknownProtocolVersionError as exc:
        raise Problem(404, "Not found", str(exc)) from exc
