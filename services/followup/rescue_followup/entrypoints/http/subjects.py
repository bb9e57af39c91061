"""HTTP API of a subject's follow-up: assessments (with corrections), visits, PFS."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query

from rescue_followup.domain.model import Record
from rescue_followup.entrypoints.http.dependencies import Recorder, UoW
from rescue_followup.entrypoints.http.schemas import (
    AssessmentRequest,
    AssessmentView,
    IsoDate,
    LostToFollowUpRecord,
    OverdueVisits,
    PfsView,
    RecordedAssessment,
    SubjectId,
    SubjectView,
    SubjectVisits,
)
from rescue_followup.service_layer import assessments, visits
from rescue_shared.auth import AnyTrialRole
from rescue_shared.clock import today_in
from rescue_shared.service import Settings

router = APIRouter(prefix="/v1", tags=["follow-up"])
Cutoff = Annotated[IsoDate | None, Query(
    description="Data cut-off (YYYY-MM-DD): only records dated and entered by then count.")]


def new_record(body: AssessmentRequest) -> assessments.NewRecord:
    if isinstance(body, LostToFollowUpRecord):
        day, field = body.last_contact_date, "last_contact_date"
    else:
        day, field = body.date, "date"
    return assessments.NewRecord(
        type=body.type, date=day, date_field=field, data=body.data(),
        supersedes=str(body.supersedes) if body.supersedes is not None else None,
        correction_reason=body.correction_reason)


def assessment_view(record: Record, superseded_by: dict[str, str]) -> AssessmentView:
    successor = superseded_by.get(record.id)
    return AssessmentView.model_validate({
        "assessment_id": uuid.UUID(record.id), "subject_id": record.subject_id,
        "site_id": record.site_id, "type": record.type, "date": record.assessment_date,
        "data": record.data,
        "supersedes": uuid.UUID(record.supersedes_id) if record.supersedes_id else None,
        "correction_reason": record.correction_reason,
        "superseded_by": uuid.UUID(successor) if successor else None,
        "current": successor is None, "recorded_by": record.recorded_by,
        "created_at": record.created_at})


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
    record, pfs = await assessments.record_assessment(uow, principal, subject_id,
                                                      new_record(body))
    view = assessment_view(record, {})
    return RecordedAssessment(**view.model_dump(), pfs=PfsView.of(subject_id, pfs))


@router.get("/subjects/{subject_id}/assessments", response_model=list[AssessmentView],
            summary="Every record of a subject, corrected ones included, in entry order")
async def list_assessments(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW
) -> list[AssessmentView]:
    records, superseded_by = await assessments.subject_records(uow, principal, subject_id)
    return [assessment_view(r, superseded_by) for r in records]


@router.get("/subjects/{subject_id}", response_model=SubjectView,
            summary="A randomized subject as registered for follow-up")
async def get_subject(subject_id: SubjectId, principal: AnyTrialRole, uow: UoW) -> SubjectView:
    subject = await assessments.registered_subject(uow, principal, subject_id)
    return SubjectView.model_validate(subject, from_attributes=True)


@router.get("/subjects/{subject_id}/pfs", response_model=PfsView,
            summary="A subject's progression-free survival (event or censoring)")
async def subject_pfs(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW, cutoff: Cutoff = None
) -> PfsView:
    pfs = await assessments.subject_pfs(uow, principal, subject_id, cutoff)
    return PfsView.of(subject_id, pfs)


@router.get("/subjects/{subject_id}/visits", response_model=SubjectVisits,
            summary="A subject's visit schedule: done, due, overdue, upcoming visits")
async def subject_visits(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW, settings: Settings
) -> SubjectVisits:
    status = await visits.subject_visits(uow, principal, subject_id,
                                         today_in(settings.trial_timezone))
    return SubjectVisits.model_validate(status, from_attributes=True)


@router.get("/visits/overdue", response_model=OverdueVisits,
            summary="Overdue visits per site (site staff see their own site)")
async def overdue_visits(
    principal: AnyTrialRole, uow: UoW, settings: Settings,
    site_id: Annotated[str | None, Query(description="Only this site (trial team).")] = None,
) -> OverdueVisits:
    overdue = await visits.overdue_visits(uow, principal, today_in(settings.trial_timezone),
                                          site_id)
    return OverdueVisits.model_validate(overdue, from_attributes=True)
