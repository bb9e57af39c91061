"""HTTP API of the eligibility service: screenings and a subject's screening history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel import col, select

from rescue_eligibility.decisions import decide
from rescue_eligibility.domain.evaluation import ScreeningResult, screen
from rescue_eligibility.schemas import ScreeningRequest, ScreeningView, SubjectId
from rescue_eligibility.subject_ids import cause_before_use, refuse, unavailable
from rescue_eligibility.tables import EligibilitySubject, Screening
from rescue_shared.auth import AnyTrialRole, Principal, ensure_same_site, require_roles
from rescue_shared.contracts import new_event
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.db.insert_if_absent import get_or_insert_locked
from rescue_shared.http.problems import Problem
from rescue_shared.observability.context import current_correlation_id
from rescue_shared.service import Settings, UoW

router = APIRouter(prefix="/v1", tags=["screenings"])
Screener = Annotated[Principal, Depends(require_roles("site_user", "investigator"))]
PROTOCOL_VERSION = "1"  # the protocol version in force for new screenings


def screening_view(screening: Screening) -> ScreeningView:
    result = ScreeningResult.model_validate(screening.final_result or screening.result)
    return ScreeningView(
        screening_id=uuid.UUID(screening.id), subject_id=screening.subject_id,
        site_id=screening.site_id, screening_date=screening.screening_date,
        protocol_version=screening.protocol_version, outcome=result.outcome,
        awaiting_prediction=result.awaiting_prediction,
        failed_criteria=list(result.failed_criteria), missing_facts=list(result.missing_facts),
        criteria=list(result.criteria), final_decision=result.final_decision,
        prediction_classification=result.prediction_classification,
        decided_at=screening.decided_at, screened_by=screening.screened_by,
        created_at=screening.created_at,
    )


@router.post("/screenings", status_code=201, response_model=ScreeningView,
             summary="Screen a candidate against the protocol's criteria",
             responses={422: {"description": "Invalid request, or a subject id the site may "
                                             "not use (rule `unavailable`: the same answer "
                                             "whatever the cause)",
                              "content": {"application/problem+json": {"example": {
                                  "type": "about:blank", "title": "Invalid request",
                                  "status": 422, "detail": "invalid field(s): subject_id",
                                  "instance": "/v1/screenings",
                                  "errors": unavailable().extensions["errors"]}}}}})
async def create_screening(
    body: ScreeningRequest, principal: Screener, uow: UoW, settings: Settings
) -> ScreeningView:
    """Judge the facts against every criterion of the protocol version in force.

    A subject may be re-screened; her latest screening counts. If a complete-resection
    prediction is already known for her, the final decision is made at once. A subject id the
    site may not use (another site's subject, a reserved or confusable id) is refused with one
    and the same 422 whatever the cause; the attempt is recorded for the monitors.
    """
    if principal.site_id is None:
        raise Problem(403, "Forbidden", "screening requires a token bound to a site (site_id)")
    if cause := await cause_before_use(uow.session, body.subject_id):
        await refuse(uow, principal, body.subject_id, "screening", cause)
    # Concurrent first screenings of one subject: one inserts her row, every other waits on its
    # lock and then finds it (no primary-key conflict); each is a screening of her history.
    subject, _ = await get_or_insert_locked(
        uow.session, EligibilitySubject, body.subject_id,
        {"subject_id": body.subject_id, "site_id": principal.site_id})
    if subject.site_id != principal.site_id:
        await refuse(uow, principal, body.subject_id, "screening", "another_site")
    result = screen(body.facts, PROTOCOL_VERSION)
    screening = Screening(
        id=str(uuid.uuid4()), subject_id=body.subject_id, site_id=principal.site_id,
        screening_date=body.screening_date, protocol_version=result.protocol_version,
        outcome=result.outcome, awaiting_prediction=result.awaiting_prediction,
        facts=body.facts.known(), result=result.model_dump(mode="json"),
        final_decision=result.final_decision, screened_by=principal.sub,
    )
    subject.latest_screening_id = screening.id
    uow.session.add_all([screening, subject])
    uow.emit(new_event(
        SubjectScreened(
            screening_id=uuid.UUID(screening.id), screening_date=body.screening_date,
            protocol_version=result.protocol_version, outcome=result.outcome,
            awaiting_prediction=result.awaiting_prediction,
            failed_criteria=list(result.failed_criteria),
            missing_facts=list(result.missing_facts), clinical_facts=body.facts.known(),
        ),
        producer=settings.service_name, trial_id=settings.trial_id, site_id=principal.site_id,
        subject_id=body.subject_id, correlation_id=current_correlation_id(),
    ))
    decide(uow, screening, subject)
    await uow.commit()
    return screening_view(screening)


@router.get("/screenings/{screening_id}", response_model=ScreeningView,
            summary="One screening with its per-criterion results")
async def get_screening(
    screening_id: uuid.UUID, principal: AnyTrialRole, uow: UoW
) -> ScreeningView:
    screening = await uow.session.get(Screening, str(screening_id))
    ensure_same_site(principal, screening.site_id if screening else None,
                     f"screening {screening_id}")
    assert screening is not None
    return screening_view(screening)


@router.get("/subjects/{subject_id}/screenings", response_model=list[ScreeningView],
            summary="A subject's screenings, oldest first (the latest counts)")
async def subject_screenings(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW
) -> list[ScreeningView]:
    subject = await uow.session.get(EligibilitySubject, subject_id)
    ensure_same_site(principal, subject.site_id if subject else None, f"subject {subject_id}")
    rows = (await uow.session.exec(
        select(Screening).where(Screening.subject_id == subject_id)
        .order_by(col(Screening.created_at), col(Screening.id)))).all()
    return [screening_view(s) for s in rows]
