"""Subjects enter follow-up when randomized and are flagged, never dropped, when their allocation
is invalidated (from `randomization.assigned` / `randomization.invalidated`).

Both run inside the consumer's transaction with inbox deduplication and commit with it. Each is
idempotent on the facts themselves (a republished allocation with a new event id registers
nothing) and order-independent: an invalidation arriving before the allocation it names is parked
and applied when the allocation arrives (docs/reliability.md § Events that may arrive out of
order).
"""

from __future__ import annotations

import datetime as dt
import logging

from rescue_followup.domain.audit_records import parked_invalidation_record, subject_record
from rescue_followup.domain.model import ParkedInvalidation, PlannedVisit, Subject
from rescue_followup.domain.schedule import build_schedule
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.audit.chain import Actor, AuditDraft

log = logging.getLogger(__name__)


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def register_subject(
    uow: FollowupUnitOfWork, *, subject_id: str, site_id: str, randomization_number: str,
    arm: str, stratum: dict[str, str], randomization_date: dt.date, scheme: str, event_id: str,
) -> Subject | None:
    """Register the subject and her visit schedule under the protocol version in force
    (docs/protocol/pfs.md § Tumour-assessment schedule); None when she is registered already.
    Audited as `subject.registered` by the consumer (her subject record, with an invalidation
    parked before her allocation applied)."""
    existing = await uow.subjects.get(subject_id)
    if existing is not None:
        if existing.randomization_number != randomization_number:
            log.warning("subject %s is registered with randomization %s; ignoring allocation %s "
                        "(event %s)", subject_id, existing.randomization_number,
                        randomization_number, event_id)
        return None
    protocol = uow.protocols.load(uow.protocol_version)
    subject = Subject(
        subject_id=subject_id, site_id=site_id, randomization_number=randomization_number,
        arm=arm, stratum=dict(stratum), randomization_date=randomization_date, scheme=scheme,
        protocol_version=protocol.version, assigned_event_id=event_id, registered_at=_now())
    parked = await uow.parked_invalidations.get(subject_id, randomization_number)
    if parked is not None and parked.applied_at is None:
        log.info("applying the invalidation of %s of subject %s parked before her allocation "
                 "arrived (event %s)", parked.randomization_number, subject_id, parked.event_id)
        _invalidate(subject, parked.invalidated_at, parked.reason)
        parked.applied_at = _now()
        await uow.parked_invalidations.save(parked)
    await uow.subjects.add(subject)
    uow.audit.record(AuditDraft(action="subject.registered", actor=Actor.consumer(event_id),
                                site_id=site_id, subject_id=subject_id,
                                after=subject_record(subject)))
    await uow.visits.add_schedule([
        PlannedVisit(subject_id=subject_id, number=v.number, month=v.month,
                     target_date=v.target_date, window_start=v.window_start,
                     window_end=v.window_end)
        for v in build_schedule(randomization_date, protocol.visit_schedule)])
    return subject


def _invalidate(subject: Subject, at: dt.datetime, reason: str) -> None:
    subject.invalidated = True
    subject.invalidated_at = _utc(at)
    subject.invalidation_reason = reason


async def invalidate_allocation(
    uow: FollowupUnitOfWork, *, subject_id: str, site_id: str, randomization_number: str,
    reason: str, invalidated_by: str, invalidated_at: dt.datetime, event_id: str,
) -> None:
    """Flag the allocation (never deleted): the excluding_invalidated population drops it.

    An invalidation arriving before the allocation it names is parked and applied when the
    allocation arrives (the sensitivity population must never miss it).
    """
    actor = Actor.consumer(event_id)
    subject = await uow.subjects.with_allocation(subject_id, randomization_number)
    if subject is not None:
        before = subject_record(subject)
        _invalidate(subject, invalidated_at, reason)
        await uow.subjects.save(subject)
        if (after := subject_record(subject)) != before:  # a republished one changes nothing
            uow.audit.record(AuditDraft(action="allocation.invalidated", actor=actor,
                                        site_id=subject.site_id, subject_id=subject_id,
                                        reason=reason, before=before, after=after))
        return
    if await uow.parked_invalidations.get(subject_id, randomization_number) is not None:
        return  # parked already (an allocation is invalidated once)
    log.info("invalidation of allocation %s of subject %s arrived before the allocation: "
             "parked until it arrives (event %s)", randomization_number, subject_id, event_id)
    parked = ParkedInvalidation(
        subject_id=subject_id, randomization_number=randomization_number, site_id=site_id,
        reason=reason, invalidated_by=invalidated_by, invalidated_at=_utc(invalidated_at),
        event_id=event_id, parked_at=_now())
    await uow.parked_invalidations.add(parked)
    uow.audit.record(AuditDraft(action="invalidation.parked", actor=actor, site_id=site_id,
                                subject_id=subject_id, reason=reason,
                                after=parked_invalidation_record(parked)))


async def record_verified_strata(
    uow: FollowupUnitOfWork, *, subject_id: str, randomization_number: str,
    verified_stratum: dict[str, str], verified_at: dt.datetime, event_id: str,
) -> None:
    """Keep the stratum as verified beside the one randomized (latest verification wins).

    Randomization announces a verification after the allocation, under the same key, so it
    arrives after `randomization.assigned`; one that does not find its allocation fails and is
    retried, then dead-lettered where it stays visible and replayable, never silently dropped.
    """
    subject = await uow.subjects.with_allocation(subject_id, randomization_number)
    if subject is None:
        raise LookupError(f"strata verification of allocation {randomization_number} of "
                          f"subject {subject_id} before the allocation (event {event_id})")
    at = _utc(verified_at)
    if subject.strata_verified_at is not None and subject.strata_verified_at > at:
        return  # an older verification delivered late
    before = {"verified_stratum": subject.verified_stratum}
    subject.verified_stratum = dict(verified_stratum)
    subject.strata_verified_at = at
    await uow.subjects.save(subject)
    uow.audit.record(AuditDraft(action="strata.verified", actor=Actor.consumer(event_id),
                                site_id=subject.site_id, subject_id=subject_id, before=before,
                                after={"verified_stratum": subject.verified_stratum,
                                       "verified_at": at}))
