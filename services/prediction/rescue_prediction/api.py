"""HTTP API of the prediction service: a subject, her CA-125 values, KELIM and prediction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from rescue_prediction import ca125_store
from rescue_prediction.ca125_store import Incoming
from rescue_prediction.domain.units import Ca125Observation, normalise_observation
from rescue_prediction.predictions import (
    latest_official,
    latest_record,
    measurement_view,
    measurements_of,
    official_of,
    prediction_view,
    recompute,
)
from rescue_prediction.schemas import (
    AWAITING_SCREENING_NOTE,
    Ca125Receipt,
    Ca125Submission,
    MeasurementView,
    OfficialKelimIn,
    OfficialKelimReceipt,
    PredictionView,
    SubjectId,
    SubjectStatus,
)
from rescue_prediction.tables import ExternalKelim, PredictionRecord, PredictionSubject
from rescue_shared.auth import AnyTrialRole, Principal, ensure_same_site, require_roles
from rescue_shared.http.problems import Problem
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["subjects"])
SiteWriter = Annotated[Principal, Depends(require_roles("site_user", "investigator"))]


class KnownSubject(BaseModel):
    subject_id: str
    site_id: str
    status: SubjectStatus = Field(description=(
        "screened: known from eligibility.screened; awaiting_screening: her site sent values "
        "before the screening arrived (kept, no prediction until it does)."))
    latest_screening_id: str | None
    latest_screening_outcome: str | None
    screenings_seen: int
    first_seen_at: datetime
    chemotherapy_start_date: date | None


def subject_status(subject: PredictionSubject) -> SubjectStatus:
    return "awaiting_screening" if subject.awaiting_screening else "screened"


def known_subject(subject: PredictionSubject) -> KnownSubject:
    return KnownSubject(
        subject_id=subject.subject_id, site_id=subject.site_id, status=subject_status(subject),
        latest_screening_id=subject.latest_screening_id,
        latest_screening_outcome=subject.latest_screening_outcome,
        screenings_seen=subject.screenings_seen, first_seen_at=subject.first_seen_at,
        chemotherapy_start_date=subject.chemotherapy_start_date)


def awaiting_note(subject: PredictionSubject) -> str | None:
    return AWAITING_SCREENING_NOTE if subject.awaiting_screening else None


async def visible_subject(uow: UoW, principal: Principal, subject_id: str) -> PredictionSubject:
    subject = await uow.session.get(PredictionSubject, subject_id)
    ensure_same_site(principal, subject.site_id if subject else None, f"subject {subject_id}")
    assert subject is not None
    return subject


@router.get("/subjects/{subject_id}", response_model=KnownSubject,
            summary="A subject known from eligibility screenings (or awaiting hers)")
async def get_subject(subject_id: str, principal: AnyTrialRole, uow: UoW) -> KnownSubject:
    return known_subject(await visible_subject(uow, principal, subject_id))


_AWAITING = ("202 Accepted: the subject's eligibility screening has not reached this service "
             "yet (events take a moment). The values are validated and kept for the caller's "
             "site, but no prediction can be computed without the screening facts: it is "
             "computed and announced when the screening arrives (`status: awaiting_screening`, "
             "`prediction: null`). If the screening names another site, the values are "
             "quarantined for a monitor, never used.")


@router.post("/subjects/{subject_id}/ca125", response_model=Ca125Receipt,
             status_code=201, summary="Send CA-125 values measured during chemotherapy",
             responses={200: {"description": "Every value was already known: nothing changed"},
                        202: {"description": _AWAITING, "model": Ca125Receipt},
                        404: {"description": "Another site's subject"},
                        409: {"description": "A value conflicts with a stored one, or the "
                                             "chemotherapy start date differs"},
                        422: {"description": "Bad input, naming the field; nothing stored"}})
async def post_ca125(
    subject_id: SubjectId, body: Ca125Submission, principal: SiteWriter, uow: UoW,
    response: Response,
) -> Ca125Receipt:
    """Store the values (normalised to U/mL, original kept) and recompute the prediction.

    Re-sending a known value changes nothing; a different value for a known date is 409. A
    subject not screened yet is accepted for the caller's site with 202 (see responses).
    """
    subject = await ca125_store.lock_subject(uow, principal, subject_id)
    start = body.chemotherapy_start_date
    if subject.chemotherapy_start_date not in (None, start):
        raise Problem(409, "Chemotherapy start differs",
                      f"chemotherapy_start_date {start} differs from the recorded "
                      f"{subject.chemotherapy_start_date}",
                      errors=[{"field": "chemotherapy_start_date", "rule": "conflict",
                               "message": "differs from the recorded start date"}])
    errors = []
    incoming = []
    for i, m in enumerate(body.measurements):
        why = ca125_store.too_early(m.date, start)
        if why:
            errors.append({"field": f"measurements.{i}.date", "rule": "before_window",
                           "message": why})
        obs = Ca125Observation(effective_date=m.date, value=m.value, unit=m.unit,
                               loinc=m.loinc, comparator=m.comparator)
        incoming.append(Incoming(f"measurements.{i}", normalise_observation(obs), "json"))
    if subject.chemotherapy_start_date is None:
        # Values sent earlier through FHIR (which carries no start) must fit the new start too.
        errors += [{"field": "chemotherapy_start_date", "rule": "before_window",
                    "message": f"the stored CA-125 value of {why}"}
                   for row in await measurements_of(uow, subject_id)
                   if (why := ca125_store.too_early(row.effective_date, start))]
    if errors:
        raise Problem(422, "Invalid request", "invalid field(s): "
                      + ", ".join(dict.fromkeys(e["field"] for e in errors)), errors=errors)
    conflicts = await ca125_store.find_conflicts(uow, subject_id, incoming)
    if conflicts:
        raise Problem(409, "Conflicting CA-125 value", conflicts[0].message(),
                      errors=[{"field": f"{c.field}.value", "rule": "conflict",
                               "message": c.message()} for c in conflicts])
    start_is_new = subject.chemotherapy_start_date is None
    subject.chemotherapy_start_date = start
    if start_is_new:
        subject.chemotherapy_start_recorded_by = principal.sub
    uow.session.add(subject)
    stored = await ca125_store.store(uow, subject_id, incoming, principal.sub)
    record, new_version = None, False
    if stored.added or (start_is_new and await _has_measurements(uow, subject_id)):
        record, new_version = await recompute(uow, subject, "ca125")
    else:
        record = await latest_record(uow, subject_id)
    await uow.commit()
    if subject.awaiting_screening:
        response.status_code = 202
    elif not stored.added and not start_is_new:
        response.status_code = 200
    rows = await measurements_of(uow, subject_id)
    return Ca125Receipt(
        subject_id=subject_id, status=subject_status(subject), note=awaiting_note(subject),
        chemotherapy_start_date=start, added=stored.added,
        already_known=stored.already_known,
        measurements=[measurement_view(r, start) for r in rows],
        prediction=prediction_view(record, superseded=False) if record else None,
        new_prediction_version=new_version,
    )


async def _has_measurements(uow: UoW, subject_id: str) -> bool:
    return bool(await measurements_of(uow, subject_id))


@router.get("/subjects/{subject_id}/ca125", response_model=list[MeasurementView],
            summary="The subject's CA-125 values, by date")
async def get_ca125(subject_id: str, principal: AnyTrialRole, uow: UoW) -> list[MeasurementView]:
    subject = await visible_subject(uow, principal, subject_id)
    return [measurement_view(r, subject.chemotherapy_start_date)
            for r in await measurements_of(uow, subject_id)]


@router.post("/subjects/{subject_id}/kelim-external", response_model=OfficialKelimReceipt,
             status_code=201, summary="Record a KELIM from the official calculator",
             responses={200: {"description": "The same KELIM was already recorded"},
                        202: {"description": _AWAITING, "model": OfficialKelimReceipt},
                        404: {"description": "Another site's subject"}})
async def post_official_kelim(
    subject_id: SubjectId, body: OfficialKelimIn, principal: SiteWriter, uow: UoW,
    response: Response,
) -> OfficialKelimReceipt:
    """The official KELIM takes precedence over the local estimate (which stays reported).

    A subject not screened yet is accepted for the caller's site with 202 (see responses)."""
    subject = await ca125_store.lock_subject(uow, principal, subject_id)
    latest = await latest_official(uow, subject_id)
    same = latest is not None and (
        latest.value, latest.scale, latest.source, latest.calculator_version, latest.computed_on
    ) == (body.value, body.scale, body.source, body.version, body.computed_on)
    if latest is None or not same:
        latest = ExternalKelim(subject_id=subject_id, value=body.value, scale=body.scale,
                               source=body.source, calculator_version=body.version,
                               computed_on=body.computed_on, received_by=principal.sub)
        uow.session.add(latest)
    record, new_version = await recompute(uow, subject, "kelim_external")
    await uow.commit()
    if subject.awaiting_screening:
        response.status_code = 202
    elif same and not new_version:
        response.status_code = 200
    official = official_of(latest)
    assert official is not None
    return OfficialKelimReceipt(
        subject_id=subject_id, status=subject_status(subject), note=awaiting_note(subject),
        official_kelim=official,
        prediction=prediction_view(record, superseded=False) if record else None,
        new_prediction_version=new_version)


@router.get("/subjects/{subject_id}/prediction", response_model=PredictionView,
            summary="The prediction in force, with its figures, inputs and reasons",
            responses={404: {"description": "Unknown subject, or no prediction yet"}})
async def get_prediction(subject_id: str, principal: AnyTrialRole, uow: UoW) -> PredictionView:
    subject = await visible_subject(uow, principal, subject_id)
    record = await latest_record(uow, subject_id)
    if record is None:
        raise Problem(404, "Not found", f"no prediction for subject {subject_id} yet: "
                      + ("her screening has not arrived (her values are kept and used when it "
                         "does)" if subject.awaiting_screening else
                         "send CA-125 values or an official KELIM"))
    return prediction_view(record, superseded=False)


@router.get("/subjects/{subject_id}/predictions", response_model=list[PredictionView],
            summary="Every prediction version, oldest first (the highest is in force)")
async def get_predictions(
    subject_id: str, principal: AnyTrialRole, uow: UoW
) -> list[PredictionView]:
    await visible_subject(uow, principal, subject_id)
    rows = (await uow.session.exec(
        select(PredictionRecord).where(PredictionRecord.subject_id == subject_id)
        .order_by(col(PredictionRecord.version)))).all()
    return [prediction_view(r, superseded=i < len(rows) - 1) for i, r in enumerate(rows)]
