"""HTTP API of a subject's follow-up: assessments (with corrections), visits, PFS."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from rescue_followup.announcements import announce_changes
from rescue_followup.records import (
    END_OF_FOLLOW_UP_TYPES,
    current_records,
    derive_subject_pfs,
)
from rescue_followup.schemas import (
    AssessmentRequest,
    AssessmentView,
    OverdueVisit,
    OverdueVisits,
    PfsView,
    RecordedAssessment,
    SiteOverdue,
    SubjectId,
    SubjectView,
    SubjectVisits,
)
from rescue_followup.store import (
    records_of,
    release,
    subject_for,
    subjects_with_records,
    visits_by_subject,
    visits_of,
)
from rescue_followup.tables import Assessment, FollowupSubject
from rescue_followup.visit_status import follow_up_end, visit_views
from rescue_shared.auth import AnyTrialRole, Principal, require_roles
from rescue_shared.clock import today_in
from rescue_shared.http.problems import Problem
from rescue_shared.service import Settings, UoW

router = APIRouter(prefix="/v1", tags=["follow-up"])
Recorder = Annotated[Principal, Depends(require_roles("site_user", "investigator"))]
Cutoff = Annotated[dt.date | None, Query(
    description="Data cut-off (YYYY-MM-DD): only records dated and entered by then count.")]
ONE_PER_DATE = frozenset({"recist", "ca125", "surgery"})


def _invalid(field: str, rule: str, message: str) -> Problem:
    return Problem(422, "Invalid request", message,
                   errors=[{"field": field, "rule": rule, "message": message}])


def check_against_current(
    body: Any, subject: FollowupSubject, others: Sequence[Assessment]
) -> None:
    """Rules that need the subject: dates from randomization on, nothing after death, and one
    death, one end of follow-up and one record of a kind per date (correct it instead)."""
    day, field = body.clinical_date, f"{body.type}.{body.date_field}"
    if day < subject.randomization_date:
        raise _invalid(field, "before_randomization",
                       f"{body.date_field} {day} is before randomization on "
                       f"{subject.randomization_date}")
    deaths = [r for r in others if r.type == "death"]
    if body.type == "death":
        if deaths:
            raise Problem(409, "Death already recorded",
                          f"a death on {deaths[0].assessment_date} is recorded (record "
                          f"{deaths[0].id}); correct that record instead", record_id=deaths[0].id)
        later = [r for r in others if r.assessment_date > day]
        if later:
            last = max(later, key=lambda r: r.assessment_date)
            raise _invalid(field, "records_after_death",
                           f"a {last.type} record is dated {last.assessment_date}, after this "
                           f"death on {day} (record {last.id})")
    elif deaths and day > deaths[0].assessment_date:
        raise _invalid(field, "after_death",
                       f"{body.date_field} {day} is after the recorded death on "
                       f"{deaths[0].assessment_date}")
    if body.type in END_OF_FOLLOW_UP_TYPES:
        ended = [r for r in others if r.type in END_OF_FOLLOW_UP_TYPES]
        if ended:
            raise Problem(409, "End of follow-up already recorded",
                          f"a {ended[0].type} record on {ended[0].assessment_date} is recorded "
                          f"(record {ended[0].id}); correct that record instead",
                          record_id=ended[0].id)
    if body.type in ONE_PER_DATE:
        same = [r for r in others if r.type == body.type and r.assessment_date == day]
        if same:
            raise Problem(409, "Record exists for that date",
                          f"a {body.type} record dated {day} exists (record {same[0].id}); "
                          "correct that record instead", record_id=same[0].id)


def assessment_view(record: Assessment, superseded_by: dict[str, str]) -> AssessmentView:
    successor = superseded_by.get(record.id)
    return AssessmentView(
        assessment_id=uuid.UUID(record.id), subject_id=record.subject_id,
        site_id=record.site_id, type=record.type,  # type: ignore[arg-type]
        date=record.assessment_date, data=record.data,
        supersedes=uuid.UUID(record.supersedes_id) if record.supersedes_id else None,
        correction_reason=record.correction_reason,
        superseded_by=uuid.UUID(successor) if successor else None, current=successor is None,
        recorded_by=record.recorded_by, created_at=record.created_at)


@router.post("/subjects/{subject_id}/assessments", status_code=201,
             response_model=RecordedAssessment,
             summary="Record an assessment, death, withdrawal, loss to follow-up or surgery")
async def record_assessment(
    subject_id: SubjectId, body: Annotated[AssessmentRequest, Body()], principal: Recorder,
    uow: UoW,
) -> RecordedAssessment:
    """One record, of the kind named by `type`. Dates run from randomization to today.

    A correction is a new record naming the record it `supersedes` and a `correction_reason`;
    the superseded record is kept (nothing is deleted). The subject's PFS is derived again and
    `followup.progression_recorded` / `followup.subject_withdrawn` are emitted when they change.
    """
    subject = await subject_for(uow.session, principal, subject_id, lock=True)
    if principal.site_id != subject.site_id:
        raise Problem(403, "Forbidden", "records are entered by the subject's own site")
    records = await records_of(uow.session, subject_id)
    current = current_records(records)
    replaced: Assessment | None = None
    if body.supersedes is not None:
        replaced = next((r for r in records if r.id == str(body.supersedes)), None)
        if replaced is None:
            raise _invalid(f"{body.type}.supersedes", "not_found",
                           f"subject {subject_id} has no record {body.supersedes}")
        if replaced.id not in {r.id for r in current}:
            successor = next(r.id for r in records if r.supersedes_id == replaced.id)
            raise Problem(409, "Record already corrected",
                          f"record {replaced.id} was superseded by record {successor}; "
                          "correct the latest record", record_id=successor)
    check_against_current(body, subject, [r for r in current if r is not replaced])

    record = Assessment(
        id=str(uuid.uuid4()), subject_id=subject_id, site_id=subject.site_id, type=body.type,
        assessment_date=body.clinical_date, data=body.data(),
        supersedes_id=replaced.id if replaced else None,
        correction_reason=body.correction_reason, recorded_by=principal.sub)
    records.append(record)
    pfs = derive_subject_pfs(subject, records)
    announce_changes(uow, subject, current_records(records), pfs, causation_id=record.id)
    uow.session.add(record)
    await uow.commit()
    view = assessment_view(record, {})
    return RecordedAssessment(**view.model_dump(), pfs=PfsView.of(subject_id, pfs))


@router.get("/subjects/{subject_id}/assessments", response_model=list[AssessmentView],
            summary="Every record of a subject, corrected ones included, in entry order")
async def list_assessments(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW
) -> list[AssessmentView]:
    await subject_for(uow.session, principal, subject_id)
    records = await records_of(uow.session, subject_id)
    superseded_by = {r.supersedes_id: r.id for r in records if r.supersedes_id}
    return [assessment_view(r, superseded_by) for r in records]


@router.get("/subjects/{subject_id}", response_model=SubjectView,
            summary="A randomized subject as registered for follow-up")
async def get_subject(subject_id: SubjectId, principal: AnyTrialRole, uow: UoW) -> SubjectView:
    subject = await subject_for(uow.session, principal, subject_id)
    return SubjectView.model_validate(subject, from_attributes=True)


@router.get("/subjects/{subject_id}/pfs", response_model=PfsView,
            summary="A subject's progression-free survival (event or censoring)")
async def subject_pfs(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW, cutoff: Cutoff = None
) -> PfsView:
    subject = await subject_for(uow.session, principal, subject_id)
    if cutoff is not None and cutoff < subject.randomization_date:
        raise _invalid("cutoff", "before_randomization",
                       f"cutoff {cutoff} is before the subject's randomization on "
                       f"{subject.randomization_date}")
    pfs = derive_subject_pfs(subject, await records_of(uow.session, subject_id), cutoff)
    return PfsView.of(subject_id, pfs)


@router.get("/subjects/{subject_id}/visits", response_model=SubjectVisits,
            summary="A subject's visit schedule: done, due, overdue, upcoming visits")
async def subject_visits(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW, settings: Settings
) -> SubjectVisits:
    subject = await subject_for(uow.session, principal, subject_id)
    records = await records_of(uow.session, subject_id)
    current = current_records(records)
    ended = follow_up_end(current, derive_subject_pfs(subject, records))
    today = today_in(settings.trial_timezone)
    visits, unscheduled = visit_views(await visits_of(uow.session, subject_id), current, ended,
                                      today)
    return SubjectVisits(subject_id=subject_id, site_id=subject.site_id, today=today,
                         protocol_version=subject.protocol_version, follow_up_ended=ended,
                         visits=visits, unscheduled_assessments=unscheduled)


@router.get("/visits/overdue", response_model=OverdueVisits,
            summary="Overdue visits per site (site staff see their own site)")
async def overdue_visits(
    principal: AnyTrialRole, uow: UoW, settings: Settings,
    site_id: Annotated[str | None, Query(description="Only this site (trial team).")] = None,
) -> OverdueVisits:
    today = today_in(settings.trial_timezone)
    if not principal.sees_all_sites:
        if principal.site_id is None or site_id not in (None, principal.site_id):
            return OverdueVisits(today=today, total=0, sites=[])
        site_id = principal.site_id
    subjects, records = await subjects_with_records(uow.session, site_id)
    visits = await visits_by_subject(uow.session, site_id)
    await release(uow.session)
    by_site: dict[str, list[OverdueVisit]] = {}
    for subject in subjects:
        own = records.get(subject.subject_id, [])
        current = current_records(own)
        ended = follow_up_end(current, derive_subject_pfs(subject, own))
        views, _ = visit_views(visits.get(subject.subject_id, []), current, ended, today)
        overdue = [OverdueVisit(subject_id=subject.subject_id, number=v.number, month=v.month,
                                target_date=v.target_date, window_end=v.window_end,
                                days_overdue=(today - v.window_end).days)
                   for v in views if v.status == "overdue"]
        if overdue:
            by_site.setdefault(subject.site_id, []).extend(overdue)
    sites = [SiteOverdue(site_id=site, overdue=by_site[site]) for site in sorted(by_site)]
    return OverdueVisits(today=today, total=sum(len(s.overdue) for s in sites), sites=sites)
