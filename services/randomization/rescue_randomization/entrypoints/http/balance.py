"""Allocation balance by arm, overall and per stratum (never the next allocation)."""

from __future__ import annotations

from fastapi import APIRouter

from rescue_randomization.entrypoints.http.dependencies import ProtocolVersion, TrialTeam, UoW
from rescue_randomization.service_layer import balance as use_cases
from rescue_randomization.service_layer.views import Balance

router = APIRouter(prefix="/v1", tags=["balance"])


@router.get("/balance", response_model=Balance,
            summary="Counts by arm overall and per stratum")
async def balance(principal: TrialTeam, uow: UoW, version: ProtocolVersion) -> Balance:
    """`allocated` counts every allocation (an invalidated one keeps its slot); `valid` leaves
    invalidated ones out."""
    return await use_cases.balance(uow, protocol_version=version)
