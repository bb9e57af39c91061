"""The trial's randomization set-up: view, configuration before the first allocation, lock, and
the statistician's reproducibility report (the only place the seed is ever shown, after lock)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import ValidationError

from rescue_randomization import audit
from rescue_randomization.access import Admin, ProtocolVersion, TrialReader, refuse
from rescue_randomization.allocation import all_allocations, replay
from rescue_randomization.domain.blocks import block_list
from rescue_randomization.domain.schemes import PermutedBlockConfig, RandomizationConfig
from rescue_randomization.schemas import (
    ConfigurationRequest,
    ReplayedAllocation,
    SeedReport,
    StratumList,
    TrialView,
)
from rescue_randomization.tables import Trial
from rescue_randomization.trial import config_of, lock_trial, public_configuration
from rescue_shared.db.platform_tables import utcnow
from rescue_shared.http.problems import Problem
from rescue_shared.service import Settings, UoW

router = APIRouter(prefix="/v1/trial", tags=["trial"])


def trial_view(trial: Trial, trial_id: str) -> TrialView:
    return TrialView(
        trial_id=trial_id, protocol_version=trial.protocol_version,
        scheme=config_of(trial).scheme.scheme, configuration=dict(trial.config),
        seed_sha256=trial.seed_sha256, set_up_at=trial.set_up_at, set_up_by=trial.set_up_by,
        configured_at=trial.configured_at, allocations=trial.allocations,
        locked=trial.locked_at is not None, locked_at=trial.locked_at, locked_by=trial.locked_by)


@router.get("", response_model=TrialView, summary="The randomization set-up (never the seed)")
async def get_trial(
    principal: TrialReader, uow: UoW, settings: Settings, version: ProtocolVersion
) -> TrialView:
    """Sets the trial up (configuration from the protocol file, a new secret seed) on first use."""
    _, trial = await lock_trial(uow.session, principal, version)
    await uow.commit()
    return trial_view(trial, settings.trial_id)


@router.put("/configuration", response_model=TrialView,
            summary="Change the scheme or strata before the first allocation (audited)")
async def configure(
    body: ConfigurationRequest, principal: Admin, uow: UoW, settings: Settings,
    version: ProtocolVersion,
) -> TrialView:
    async def refused(problem: Problem) -> None:
        await refuse(uow, principal, version, problem, action="configuration_change")

    head, trial = await lock_trial(uow.session, principal, version)
    if trial.locked_at is not None:
        await refused(Problem(409, "Trial locked", "the trial's randomization is locked"))
    if trial.allocations:
        await refused(Problem(409, "Allocations exist",
                              f"{trial.allocations} allocation(s) already made: changing the "
                              "scheme or strata now would break the allocation lists"))
    current = config_of(trial)
    try:
        config = RandomizationConfig(strata=body.strata or current.strata, scheme=body.scheme)
    except ValidationError as exc:
        await refused(Problem(422, "Invalid request", "invalid configuration", errors=[
            {"field": ".".join(str(p) for p in e["loc"]) or "configuration", "rule": e["type"],
             "message": e["msg"]} for e in exc.errors()]))
    before = public_configuration(trial)
    trial.config = config.model_dump(mode="json")
    trial.configured_at = utcnow()
    uow.session.add(trial)
    audit.record(uow.session, head, "configuration_change", principal,
                 {"before": before, "after": public_configuration(trial)})
    await uow.commit()
    return trial_view(trial, settings.trial_id)


@router.post("/lock", response_model=TrialView,
             summary="Lock the randomization (no further allocation; the seed report opens)")
async def lock(
    principal: Admin, uow: UoW, settings: Settings, version: ProtocolVersion
) -> TrialView:
    head, trial = await lock_trial(uow.session, principal, version)
    if trial.locked_at is not None:
        await refuse(uow, principal, version, Problem(
            409, "Already locked", f"locked on {trial.locked_at.isoformat()}"),
            action="trial_lock")
    trial.locked_at = utcnow()
    trial.locked_by = principal.sub
    uow.session.add(trial)
    audit.record(uow.session, head, "trial_lock", principal,
                 {"allocations": trial.allocations, "audit_entries_before_lock": head.entries})
    await uow.commit()
    return trial_view(trial, settings.trial_id)


@router.get("/seed-report", response_model=SeedReport,
            summary="Reproducibility report with the seed (admin, only after lock; audited)")
async def seed_report(
    principal: Admin, uow: UoW, settings: Settings, version: ProtocolVersion
) -> SeedReport:
    """Every allocation recomputed from the seed; for permuted blocks, each stratum's list."""
    head, trial = await lock_trial(uow.session, principal, version)
    if trial.locked_at is None:
        await refuse(uow, principal, version, Problem(
            409, "Trial not locked", "the seed is revealed only after the trial is locked"),
            action="export")
    assert trial.locked_at is not None
    seed, config = bytes.fromhex(trial.seed_hex), config_of(trial)
    allocations = await all_allocations(uow.session)
    replayed = [ReplayedAllocation(
        sequence=a.sequence, randomization_number=a.randomization_number,
        subject_id=a.subject_id, stratum_key=a.stratum_key, slot_index=a.slot_index,
        arm=a.arm, replayed_arm=arm.value, invalidated=a.invalidated_at is not None)  # type: ignore[arg-type]
        for a, arm in zip(allocations, replay(seed, config, allocations), strict=True)]
    used: dict[str, int] = {}
    for a in allocations:
        used[a.stratum_key] = max(used.get(a.stratum_key, 0), a.slot_index + 1)
    strata = [StratumList(stratum_key=key, slots_used=n, generated=[
        arm.value for arm in block_list(seed, key, n, config.scheme)]  # type: ignore[misc]
        if isinstance(config.scheme, PermutedBlockConfig) else [])
        for key, n in sorted(used.items())]
    mismatches = [r for r in replayed if r.arm != r.replayed_arm]
    audit.record(uow.session, head, "export", principal,
                 {"export": "seed_report", "allocations": len(allocations),
                  "reproduced": not mismatches})
    await uow.commit()
    return SeedReport(
        trial_id=settings.trial_id, protocol_version=trial.protocol_version,
        configuration=dict(trial.config), seed_hex=trial.seed_hex,
        seed_sha256=trial.seed_sha256, set_up_at=trial.set_up_at, locked_at=trial.locked_at,
        allocations=len(allocations), reproduced=not mismatches, mismatches=mismatches,
        replay=replayed, strata=strata)
