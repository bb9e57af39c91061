"""Verifying a stratification factor after randomization (docs/protocol/randomization.md §
Stratification errors): recorded beside the allocation, audited, announced; the allocation,
its stratum, its slot and what the schemes count never change."""

from __future__ import annotations

from typing import NoReturn

from pydantic import BaseModel

from rescue_randomization.domain.records import StrataVerificationRecord
from rescue_randomization.domain.strata_verification import (
    VerificationError,
    check_verified_level,
    verified_stratum,
)
from rescue_randomization.service_layer import audit
from rescue_randomization.service_layer.clock import now
from rescue_randomization.service_layer.refusals import refuse
from rescue_randomization.service_layer.trial_setup import config_of, lock_trial
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.events import RandomizationStrataVerified
from rescue_shared.errors import Invalid, NotFound, ServiceError
from rescue_shared.validation.reasons import MIN_REASON_WORDS, reason_is_meaningful


class StrataView(BaseModel):
    """A subject's stratum as randomized and as verified, with each factor's verification."""

    subject_id: str
    randomization_number: str
    stratum_as_randomized: dict[str, str]
    stratum_as_verified: dict[str, str]
    verifications: list[StrataVerificationRecord]


async def _view(uow: RandomizationUnitOfWork, actor: Principal, subject_id: str) -> StrataView:
    allocation = await uow.allocations.of_subject(subject_id)
    if allocation is None or not actor.can_access_site(allocation.site_id):
        raise NotFound(f"randomization of subject {subject_id} not found")
    records = await uow.strata_verifications.of_subject(subject_id)
    verified = {r.factor: r.verified_level for r in records}
    return StrataView(subject_id=subject_id,
                      randomization_number=allocation.randomization_number,
                      stratum_as_randomized=dict(allocation.stratum),
                      stratum_as_verified=verified_stratum(allocation.stratum, verified),
                      verifications=records)


async def strata(uow: RandomizationUnitOfWork, actor: Principal, subject_id: str) -> StrataView:
    return await _view(uow, actor, subject_id)


async def verify(
    uow: RandomizationUnitOfWork, actor: Principal, *, subject_id: str, factor: str,
    verified_level: str, reason: str, protocol_version: str,
) -> StrataView:
    """Record the verified level of one factor (replacing an earlier verification of it);
    emits `randomization.strata_verified` with the whole stratum as verified."""
    async def refused(error: ServiceError) -> NoReturn:
        await refuse(uow, actor, protocol_version, error, action="strata_verification",
                     subject_id=subject_id)

    head, trial = await lock_trial(uow, actor, protocol_version)
    allocation = await uow.allocations.of_subject(subject_id)
    if allocation is None or not actor.can_access_site(allocation.site_id):
        await refused(NotFound(f"randomization of subject {subject_id} not found"))
    if not reason_is_meaningful(reason):
        await refused(Invalid("invalid field(s): reason", errors=[{
            "field": "reason", "rule": "min_words",
            "message": f"give the reason in at least {MIN_REASON_WORDS} words of two or more "
                       "letters"}]))
    try:
        check_verified_level(config_of(trial).strata, allocation.stratum, factor, verified_level)
    except VerificationError as exc:
        await refused(Invalid(f"invalid field(s): {exc.field}", errors=[{
            "field": exc.field, "rule": "stratification_level", "message": str(exc)}]))
    earlier = {r.factor: r for r in await uow.strata_verifications.of_subject(subject_id)}
    at = now()
    record = StrataVerificationRecord(
        subject_id=subject_id, factor=factor, randomized_level=allocation.stratum[factor],
        verified_level=verified_level, reason=reason.strip(), verified_by=actor.sub,
        verified_at=at)
    await uow.strata_verifications.save(record)
    previous = earlier.get(factor)
    await audit.record(uow, head, "strata_verification", actor, {
        "randomization_number": allocation.randomization_number, "factor": factor,
        "randomized_level": record.randomized_level,
        "before": previous.verified_level if previous else None,
        "after": verified_level, "reason": record.reason}, site_id=allocation.site_id,
        subject_id=subject_id)
    levels = {f: r.verified_level for f, r in earlier.items()} | {factor: verified_level}
    uow.emit(RandomizationStrataVerified(
        randomization_number=allocation.randomization_number, factor=factor,
        randomized_level=record.randomized_level, verified_level=verified_level,
        verified_stratum=verified_stratum(allocation.stratum, levels), reason=record.reason,
        verified_by=actor.sub, verified_at=at),
        site_id=allocation.site_id, subject_id=subject_id)
    await uow.commit()
    return await _view(uow, actor, subject_id)
