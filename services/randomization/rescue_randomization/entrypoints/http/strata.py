"""Strata as randomized and as verified (use cases in `service_layer/strata_verification.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from rescue_randomization.entrypoints.http.dependencies import ProtocolVersion, UoW
from rescue_randomization.entrypoints.http.schemas import SubjectId
from rescue_randomization.service_layer import strata_verification
from rescue_randomization.service_layer.strata_verification import StrataView
from rescue_shared.auth import AnyTrialRole, Principal, require_roles

router = APIRouter(prefix="/v1", tags=["randomizations"])
StrataVerifier = Annotated[Principal, Depends(require_roles("investigator", "data_manager"))]


class StrataVerificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "factor": "pfi", "verified_level": ">12",
        "reason": "source document shows platinum-free interval of fourteen months"}]})

    factor: str = Field(min_length=1, max_length=100,
                        description="A stratification factor of the allocation (e.g. pfi)")
    verified_level: str = Field(min_length=1, max_length=100,
                                description="The factor's level found in the source data")
    reason: str = Field(max_length=2000, description="Why, in at least three words of two or "
                                                     "more letters (the source checked)")


@router.post("/randomizations/{subject_id}/strata-verification", response_model=StrataView,
             summary="Record a stratification factor as verified (the allocation never changes)")
async def verify_strata(
    subject_id: SubjectId, body: StrataVerificationRequest, principal: StrataVerifier,
    uow: UoW, version: ProtocolVersion,
) -> StrataView:
    """The investigator (own site) or a data manager records the verified level of one factor
    with a reason. The allocation, its stratum as randomized, its slot and what the schemes
    count stay as they were; the verification is audited and announced as
    `randomization.strata_verified`, and follow-up's analysis can use it (`?strata=verified`)."""
    return await strata_verification.verify(
        uow, principal, subject_id=subject_id, factor=body.factor,
        verified_level=body.verified_level, reason=body.reason, protocol_version=version)


@router.get("/randomizations/{subject_id}/strata-verification", response_model=StrataView,
            summary="A subject's stratum as randomized and as verified")
async def get_strata(subject_id: SubjectId, principal: AnyTrialRole, uow: UoW) -> StrataView:
    return await strata_verification.strata(uow, principal, subject_id)
