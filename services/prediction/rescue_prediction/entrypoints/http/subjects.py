"""HTTP API of the prediction service: a subject, her CA-125 values, KELIM and prediction."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from rescue_prediction.domain.kelim import OfficialKelim
from rescue_prediction.domain.prediction import MeasurementView, measurement_view
from rescue_prediction.domain.units import Ca125Observation
from rescue_prediction.entrypoints.http.dependencies import (
    SiteWriter,
    UoW,
    awaiting_note,
    optional_prediction_view,
    prediction_view,
    subject_status,
)
from rescue_prediction.entrypoints.http.schemas import (
    Ca125Receipt,
    Ca125Submission,
    OfficialKelimIn,
    OfficialKelimReceipt,
    PredictionView,
    SubjectId,
    SubjectStatus,
)
from rescue_prediction.service_layer import ca125, official_kelim, predictions
from rescue_prediction.service_layer.access import visible_subject
from rescue_shared.auth import AnyTrialRole

router = APIRouter(prefix="/v1", tags=["subjects"])


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


@router.get("/subjects/{subject_id}", response_model=KnownSubject,
            summary="A subject known from eligibility screenings (or awaiting hers)")
async def get_subject(subject_id: str, principal: AnyTrialRole, uow: UoW) -> KnownSubject:
    subject = await visible_subject(uow, principal, subject_id)
    return KnownSubject(
        subject_id=subject.subject_id, site_id=subject.site_id, status=subject_status(subject),
        latest_screening_id=subject.latest_screening_id,
        latest_screening_outcome=subject.latest_screening_outcome,
        screenings_seen=subject.screenings_seen, first_seen_at=subject.first_seen_at,
        chemotherapy_start_date=subject.chemotherapy_start_date)


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
    recorded = await ca125.record_ca125(uow, principal, subject_id, ca125.Ca125Values(
        chemotherapy_start_date=body.chemotherapy_start_date,
        measurements=[Ca125Observation(effective_date=m.date, value=m.value, unit=m.unit,
                                       loinc=m.loinc, comparator=m.comparator)
                      for m in body.measurements]))
    subject = recorded.subject
    if subject.awaiting_screening:
        response.status_code = 202
    elif not recorded.added and not recorded.start_is_new:
        response.status_code = 200
    start = body.chemotherapy_start_date
    return Ca125Receipt(
        subject_id=subject_id, status=subject_status(subject), note=awaiting_note(subject),
        chemotherapy_start_date=start, added=recorded.added,
        already_known=recorded.already_known,
        measurements=[measurement_view(m, start) for m in recorded.series],
        prediction=optional_prediction_view(recorded.prediction),
        new_prediction_version=recorded.new_prediction_version,
    )


@router.get("/subjects/{subject_id}/ca125", response_model=list[MeasurementView],
            summary="The subject's CA-125 values, by date")
async def get_ca125(subject_id: str, principal: AnyTrialRole, uow: UoW) -> list[MeasurementView]:
    subject, series = await ca125.list_ca125(uow, principal, subject_id)
    return [measurement_view(m, subject.chemotherapy_start_date) for m in series]


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
    recorded = await official_kelim.record_official_kelim(
        uow, principal, subject_id,
        OfficialKelim(value=body.value, scale=body.scale, source=body.source,
                      version=body.version, computed_on=body.computed_on))
    subject = recorded.subject
    if subject.awaiting_screening:
        response.status_code = 202
    elif recorded.already_known and not recorded.new_prediction_version:
        response.status_code = 200
    return OfficialKelimReceipt(
        subject_id=subject_id, status=subject_status(subject), note=awaiting_note(subject),
        official_kelim=recorded.official,
        prediction=optional_prediction_view(recorded.prediction),
        new_prediction_version=recorded.new_prediction_version)


@router.get("/subjects/{subject_id}/prediction", response_model=PredictionView,
            summary="The prediction in force, with its figures, inputs and reasons",
            responses={404: {"description": "Unknown subject, or no prediction yet"}})
async def get_prediction(subject_id: str, principal: AnyTrialRole, uow: UoW) -> PredictionView:
    return prediction_view(await predictions.prediction_in_force(uow, principal, subject_id))


@router.get("/subjects/{subject_id}/predictions", response_model=list[PredictionView],
            summary="Every prediction version, oldest first (the highest is in force)")
async def get_predictions(
    subject_id: str, principal: AnyTrialRole, uow: UoW
) -> list[PredictionView]:
    versions = await predictions.prediction_versions(uow, principal, subject_id)
    return [prediction_view(v, superseded=i < len(versions) - 1) for i, v in enumerate(versions)]
