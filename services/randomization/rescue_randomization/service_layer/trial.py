"""The trial's randomization set-up: view, configuration before the first allocation, lock, and
the statistician's reproducibility report (the only place the seed is ever shown, after lock;
docs/protocol/randomization.md, "Concealment and reproducibility")."""

from __future__ import annotations

from typing import NoReturn

from pydantic import ValidationError

from rescue_randomization.domain.allocation import replay
from rescue_randomization.domain.blocks import block_list
from rescue_randomization.domain.records import TrialRecord
from rescue_randomization.domain.schemes import (
    PermutedBlockConfig,
    RandomizationConfig,
    SchemeConfig,
)
from rescue_randomization.domain.strata import StrataConfig
from rescue_randomization.service_layer import audit
from rescue_randomization.service_layer.clock import now
from rescue_randomization.service_layer.refusals import refuse
from rescue_randomization.service_layer.trial_setup import (
    config_of,
    lock_trial,
    public_configuration,
)
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_randomization.service_layer.views import (
    ReplayedAllocation,
    SeedReport,
    StratumList,
    TrialView,
)
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import Conflict, Invalid, ServiceError


def trial_view(trial: TrialRecord, trial_id: str) -> TrialView:
    return TrialView(
        trial_id=trial_id, protocol_version=trial.protocol_version,
        scheme=config_of(trial).scheme.scheme, configuration=dict(trial.config),
        seed_sha256=trial.seed_sha256, set_up_at=trial.set_up_at, set_up_by=trial.set_up_by,
        configured_at=trial.configured_at, allocations=trial.allocations,
        locked=trial.locked_at is not None, locked_at=trial.locked_at, locked_by=trial.locked_by)


async def get_trial(uow: RandomizationUnitOfWork, actor: Principal, *, protocol_version: str,
                    trial_id: str) -> TrialView:
    """The set-up (never the seed); sets the trial up (configuration from the protocol file, a
    new secret seed) on first use."""
    _, trial = await lock_trial(uow, actor, protocol_version)
    await uow.commit()
    return trial_view(trial, trial_id)


async def configure(
    uow: RandomizationUnitOfWork, actor: Principal, *, scheme: SchemeConfig,
    strata: StrataConfig | None, protocol_version: str, trial_id: str,
) -> TrialView:
    """Change the scheme (and the strata, when given) before the first allocation (audited)."""
    async def refused(error: ServiceError) -> NoReturn:
        await refuse(uow, actor, protocol_version, error, action="configuration_change")

    head, trial = await lock_trial(uow, actor, protocol_version)
    if trial.locked_at is not None:
        await refused(Conflict("the trial's randomization is locked", title="Trial locked"))
    if trial.allocations:
        await refused(Conflict(f"{trial.allocations} allocation(s) already made: changing the "
                               "scheme or strata now would break the allocation lists",
                               title="Allocations exist"))
    current = config_of(trial)
    try:
        config = RandomizationConfig(strata=strata or current.strata, scheme=scheme)
    except ValidationError as exc:
        await refused(Invalid("invalid configuration", errors=[
            {"field": ".".join(str(p) for p in e["loc"]) or "configuration", "rule": e["type"],
             "message": e["msg"]} for e in exc.errors()]))
    before = public_configuration(trial)
    trial.config = config.model_dump(mode="json")
    trial.configured_at = now()
    await uow.trials.save(trial)
    await audit.record(uow, head, "configuration_change", actor,
                       {"before": before, "after": public_configuration(trial)})
    await uow.commit()
    return trial_view(trial, trial_id)


async def lock(uow: RandomizationUnitOfWork, actor: Principal, *, protocol_version: str,
               trial_id: str) -> TrialView:
    """Lock the randomization: no further allocation; the seed report opens."""
    head, trial = await lock_trial(uow, actor, protocol_version)
    if trial.locked_at is not None:
        await refuse(uow, actor, protocol_version, Conflict(
            f"locked on {trial.locked_at.isoformat()}", title="Already locked"),
            action="trial_lock")
    trial.locked_at = now()
    trial.locked_by = actor.sub
    await uow.trials.save(trial)
    await audit.record(uow, head, "trial_lock", actor, {
        "allocations": trial.allocations, "audit_entries_before_lock": head.entries})
    await uow.commit()
    return trial_view(trial, trial_id)


async def seed_report(uow: RandomizationUnitOfWork, actor: Principal, *, protocol_version: str,
                      trial_id: str) -> SeedReport:
    """Every allocation recomputed from the seed; for permuted blocks, each stratum's list.
    Only after lock; the report is audited as an export."""
    head, trial = await lock_trial(uow, actor, protocol_version)
    if trial.locked_at is None:
        await refuse(uow, actor, protocol_version, Conflict(
            "the seed is revealed only after the trial is locked", title="Trial not locked"),
            action="export")
    seed, config = bytes.fromhex(trial.seed_hex), config_of(trial)
    allocations = await uow.allocations.in_order()
    replayed = [ReplayedAllocation(
        sequence=a.sequence, randomization_number=a.randomization_number,
        subject_id=a.subject_id, stratum_key=a.stratum_key, slot_index=a.slot_index,
        arm=a.arm, replayed_arm=arm.value, invalidated=a.invalidated_at is not None)
        for a, arm in zip(allocations, replay(seed, config, allocations), strict=True)]
    used: dict[str, int] = {}
    for a in allocations:
        used[a.stratum_key] = max(used.get(a.stratum_key, 0), a.slot_index + 1)
    scheme = config.scheme
    strata = [StratumList(stratum_key=key, slots_used=n, generated=[
        arm.value for arm in block_list(seed, key, n, scheme)]
        if isinstance(scheme, PermutedBlockConfig) else [])
        for key, n in sorted(used.items())]
    mismatches = [r for r in replayed if r.arm != r.replayed_arm]
    await audit.record(uow, head, "export", actor,
                       {"export": "seed_report", "allocations": len(allocations),
                        "reproduced": not mismatches})
    await uow.commit()
    return SeedReport(
        trial_id=trial_id, protocol_version=trial.protocol_version,
        configuration=dict(trial.config), seed_hex=trial.seed_hex,
        seed_sha256=trial.seed_sha256, set_up_at=trial.set_up_at, locked_at=trial.locked_at,
        allocations=len(allocations), reproduced=not mismatches, mismatches=mismatches,
        replay=replayed, strata=strata)
