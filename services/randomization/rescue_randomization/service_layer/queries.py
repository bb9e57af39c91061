"""Randomization's automatic data-query check, run when a screening arrives for a randomized
subject and by a sweep over every allocation (docs/data-queries.md): the latest screening's
platinum-free interval against the PFI band the subject was randomized in."""

from __future__ import annotations

from rescue_randomization.domain.query_checks import banded_factor_disagreements
from rescue_randomization.domain.randomizability import strata_facts
from rescue_randomization.domain.strata import BandedFactor
from rescue_randomization.service_layer.query_audit import record_step
from rescue_randomization.service_layer.trial_setup import config_of
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.events import RandomizationQueryChanged
from rescue_shared.queries.use_cases import ensure_may_run_checks, sync_findings


async def check_subject(uow: RandomizationUnitOfWork, subject_id: str) -> int:
    """Open or close the subject's automatic queries (the caller commits); none before she is
    randomized. The number of queries changed."""
    allocation = await uow.allocations.of_subject(subject_id)
    if allocation is None:  # most screenings: nothing to read further
        return 0
    trial = await uow.trials.get()
    candidate = await uow.candidates.get(subject_id)
    if trial is None or candidate is None:
        return 0
    strata = config_of(trial).strata
    checks = {f"{f.name}_band_vs_screening" for f in strata.factors
              if isinstance(f, BandedFactor)}
    findings = banded_factor_disagreements(subject_id, allocation.stratum,
                                           strata_facts(candidate), strata)
    changed = await sync_findings(uow, RandomizationQueryChanged, site_id=allocation.site_id,
                                  subject_id=subject_id, checks=checks, findings=findings,
                                  audit=record_step)
    return len(changed)


async def run_checks(uow: RandomizationUnitOfWork, caller: Principal) -> int:
    """The check over every allocation (monitor, data manager, admin)."""
    ensure_may_run_checks(caller)
    await uow.audit.lock_head()  # the service's writers take the head first
    changed = 0
    for allocation in await uow.allocations.in_order():
        changed += await check_subject(uow, allocation.subject_id)
    await uow.commit()
    return changed


async def site_of(uow: RandomizationUnitOfWork, subject_id: str) -> str | None:
    candidate = await uow.candidates.get(subject_id)
    return None if candidate is None else candidate.site_id
