"""The trial's randomization set-up: view, configuration before the first allocation, lock, and
the statistician's reproducibility report (the only place the seed is ever shown, after lock)."""

from __future__ import annotations

from fastapi import APIRouter

from rescue_randomization.entrypoints.http.dependencies import (
    Admin,
    ProtocolVersion,
    TrialReader,
    UoW,
)
from rescue_randomization.entrypoints.http.schemas import ConfigurationRequest
from rescue_randomization.service_layer import trial
from rescue_randomization.service_layer.views import SeedReport, TrialView
from rescue_shared.service import Settings

router = APIRouter(prefix="/v1/trial", tags=["trial"])


@router.get("", response_model=TrialView, summary="The randomization set-up (never the seed)")
async def get_trial(
    principal: TrialReader, uow: UoW, settings: Settings, version: ProtocolVersion
) -> TrialView:
    """Sets the trial up (configuration from the protocol file, a new secret seed) on first use."""
    return await trial.get_trial(uow, principal, protocol_version=version,
                                 trial_id=settings.trial_id)


@router.put("/configuration", response_model=TrialView,
            summary="Change the scheme or strata before the first allocation (audited)",
            responses={409: {"description": "Allocations were already made, or the trial "
                                            "is locked"}})
async def configure(
    body: ConfigurationRequest, principal: Admin, uow: UoW, settings: Settings,
    version: ProtocolVersion,
) -> TrialView:
    return await trial.configure(uow, principal, scheme=body.scheme, strata=body.strata,
                                 protocol_version=version, trial_id=settings.trial_id)


@router.post("/lock", response_model=TrialView,
             summary="Lock the randomization (no further allocation; the seed report opens)")
async def lock(
    principal: Admin, uow: UoW, settings: Settings, version: ProtocolVersion
) -> TrialView:
    return await trial.lock(uow, principal, protocol_version=version, trial_id=settings.trial_id)


@router.get("/seed-report", response_model=SeedReport,
            summary="Reproducibility report with the seed (admin, only after lock; audited)")
async def seed_report(
    principal: Admin, uow: UoW, settings: Settings, version: ProtocolVersion
) -> SeedReport:
    """Every allocation recomputed from the seed; for permuted blocks, each stratum's list."""
    return await trial.seed_report(uow, principal, protocol_version=version,
                                   trial_id=settings.trial_id)
