"""A subject's follow-up records: recording them (with corrections), reading them, her PFS.

A correction is a new record naming the record it supersedes and why; nothing is deleted. After
every new record her PFS is derived again and `followup.progression_recorded` /
`followup.subject_withdrawn` are emitted when they change (`domain/announcements.py`), in the
transaction that stores the record (docs/protocol/pfs.md § Derivation for one subject).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rescue_followup.domain.announcements import changed_announcements
from rescue_followup.domain.audit_records import assessment_record
from rescue_followup.domain.model import Record, Subject
from rescue_followup.domain.pfs import PfsResult
from rescue_followup.domain.records import (
    END_OF_FOLLOW_UP_TYPES,
    current_records,
    derive_subject_pfs,
)
from rescue_followup.service_layer import queries
from rescue_followup.service_layer.access import visible_subject
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.audit.chain import AuditDraft
from rescue_shared.audit.trail import actor_of
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import Conflict, Forbidden, Invalid

ONE_PER_DATE = frozenset({"recist", "ca125", "surgery"})


@dataclass(frozen=True)
class NewRecord:
    """A record as a site sends it: its kind, its clinical date (and the name of that field),
    the kind's own fields, and for a correction the record it supersedes and why."""

    type: str
    date: dt.date
    date_field: str
    data: dict[str, Any]
    supersedes: str | None = None
    correction_reason: str | None = None


def invalid(field: str, rule: str, message: str) -> Invalid:
    return Invalid(message, errors=[{"field": field, "rule": rule, "message": message}])


def check_against_current(new: NewRecord, subject: Subject, others: Sequence[Record]) -> None:
    """Rules that need the subject: dates from randomization on, nothing after death, and one
    death, one end of follow-up and one record of a kind per date (correct it instead)."""
    day, field = new.date, f"{new.type}.{new.date_field}"
    if day < subject.randomization_date:
        raise invalid(field, "before_randomization",
                      f"{new.date_field} {day} is before randomization on "
                      f"{subject.randomization_date}")
    deaths = [r for r in others if r.type == "death"]
    if new.type == "death":
        if deaths:
            raise Conflict(f"a death on {deaths[0].assessment_date} is recorded (record "
                           f"{deaths[0].id}); correct that record instead",
                           title="Death already recorded", record_id=deaths[0].id)
        later = [r for r in others if r.assessment_date > day]
        if later:
            last = max(later, key=lambda r: r.assessment_date)
            raise invalid(field, "records_after_death",
                          f"a {last.type} record is dated {last.assessment_date}, after this "
                          f"death on {day} (record {last.id})")
    elif deaths and day > deaths[0].assessment_date:
        raise invalid(field, "after_death",
                      f"{new.date_field} {day} is after the recorded death on "
                      f"{deaths[0].assessment_date}")
    if new.type in END_OF_FOLLOW_UP_TYPES:
        ended = [r for r in others if r.type in END_OF_FOLLOW_UP_TYPES]
        if ended:
            raise Conflict(f"a {ended[0].type} record on {ended[0].assessment_date} is recorded "
                           f"(record {ended[0].id}); correct that record instead",
                           title="End of follow-up already recorded", record_id=ended[0].id)
    if new.type in ONE_PER_DATE:
        same = [r for r in others if r.type == new.type and r.assessment_date == day]
        if same:
            raise Conflict(f"a {new.type} record dated {day} exists (record {same[0].id}); "
                           "correct that record instead",
                           title="Record exists for that date", record_id=same[0].id)


async def record_assessment(
    uow: FollowupUnitOfWork, actor: Principal, subject_id: str, new: NewRecord
) -> tuple[Record, PfsResult]:
    """Store one record entered by the subject's own site; her PFS with it taken into account.
    Audited as `assessment.recorded`, or `assessment.corrected` with the superseded record as
    before and the correction reason.

    NotFound for a subject the actor cannot see, Forbidden for another site's trial staff,
    Invalid / Conflict for a record the subject's current records refuse.
    """
    subject = await visible_subject(uow, actor, subject_id, lock=True)
    if not actor.works_at(subject.site_id):
        raise Forbidden("records are entered by the subject's own site")
    records = await uow.records.of_subject(subject_id)
    current = current_records(records)
    replaced: Record | None = None
    if new.supersedes is not None:
        replaced = next((r for r in records if r.id == new.supersedes), None)
        if replaced is None:
            raise invalid(f"{new.type}.supersedes", "not_found",
                          f"subject {subject_id} has no record {new.supersedes}")
        if replaced.id not in {r.id for r in current}:
            successor = next(r.id for r in records if r.supersedes_id == replaced.id)
            raise Conflict(f"record {replaced.id} was superseded by record {successor}; "
                           "correct the latest record", title="Record already corrected",
                           record_id=successor)
    check_against_current(new, subject, [r for r in current if r is not replaced])

    record = Record(
        id=str(uuid.uuid4()), subject_id=subject_id, site_id=subject.site_id, type=new.type,
        assessment_date=new.date, data=new.data, recorded_by=actor.sub,
        created_at=dt.datetime.now(dt.UTC), supersedes_id=replaced.id if replaced else None,
        correction_reason=new.correction_reason)
    records.append(record)
    pfs = derive_subject_pfs(subject, records, uow.protocols.load)
    for announcement in changed_announcements(subject, current_records(records), pfs):
        uow.emit(announcement, site_id=subject.site_id, subject_id=subject.subject_id,
                 causation_id=record.id)
    await queries.check_subject(uow, subject, records,
                                correction_ref=record.id if replaced else None)
    await uow.subjects.save(subject)
    await uow.records.add(record)
    uow.audit.record(AuditDraft(
        action="assessment.corrected" if replaced else "assessment.recorded",
        actor=actor_of(actor), site_id=subject.site_id, subject_id=subject_id,
        reason=new.correction_reason if replaced else None,
        before=assessment_record(replaced) if replaced else None,
        after=assessment_record(record)))
    await uow.commit()
    return record, pfs


async def subject_records(
    uow: FollowupUnitOfWork, actor: Principal, subject_id: str
) -> tuple[list[Record], dict[str, str]]:
    """Every record of a subject, corrected ones included, in entry order, and for each
    superseded record the id of the record that superseded it."""
    await visible_subject(uow, actor, subject_id)
    records = await uow.records.of_subject(subject_id)
    superseded_by = {r.supersedes_id: r.id for r in records if r.supersedes_id}
    return records, superseded_by


async def registered_subject(
    uow: FollowupUnitOfWork, actor: Principal, subject_id: str
) -> Subject:
    """A randomized subject as registered for follow-up."""
    return await visible_subject(uow, actor, subject_id)


async def subject_pfs(
    uow: FollowupUnitOfWork, actor: Principal, subject_id: str, cutoff: dt.date | None = None
) -> PfsResult:
    """Her PFS (event or censoring) as known at the cut-off (now when None)."""
    subject = await visible_subject(uow, actor, subject_id)
    if cutoff is not None and cutoff < subject.randomization_date:
        raise invalid("cutoff", "before_randomization",
                      f"cutoff {cutoff} is before the subject's randomization on "
                      f"{subject.randomization_date}")
    records = await uow.records.of_subject(subject_id)
    return derive_subject_pfs(subject, records, uow.protocols.load, cutoff)
