"""Correcting a stored CA-125 value: a transcription error must not drive the prediction forever.

Sending a different value for a recorded day is a 409 (one value per day); a site that finds its
value wrong says so here, with a reason. The measurement takes the corrected value, the earlier one
is kept in the correction history (who, when, why), and the prediction is recomputed: a changed
classification or KELIM becomes a new version and a new `prediction.completed`.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from sqlmodel import col, select

from rescue_prediction import ca125_store
from rescue_prediction.api import SiteWriter, subject_status, visible_subject
from rescue_prediction.domain.units import Ca125Observation, normalise_observation
from rescue_prediction.predictions import prediction_view, recompute
from rescue_prediction.schemas import (
    Ca125CorrectionIn,
    Ca125CorrectionReceipt,
    Ca125CorrectionView,
    SubjectId,
)
from rescue_prediction.tables import Ca125Correction, Ca125Measurement
from rescue_shared.auth import AnyTrialRole
from rescue_shared.http.problems import Problem
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["subjects"])


def correction_view(row: Ca125Correction) -> Ca125CorrectionView:
    return Ca125CorrectionView(
        date=row.effective_date, previous_value_u_ml=row.previous_value_u_ml,
        previous_original=f"{row.previous_original_value:g} {row.previous_original_unit}",
        previous_censoring=row.previous_censoring, value_u_ml=row.value_u_ml,
        original=f"{row.original_value:g} {row.original_unit}", censoring=row.censoring,
        reason=row.reason, corrected_by=row.corrected_by, corrected_at=row.corrected_at)


async def _measurement_on(uow: UoW, subject_id: str, day: date) -> Ca125Measurement:
    row = (await uow.session.exec(select(Ca125Measurement).where(
        Ca125Measurement.subject_id == subject_id,
        Ca125Measurement.effective_date == day))).first()
    if row is None:
        raise Problem(404, "Not found", f"no CA-125 value of subject {subject_id} on {day} to "
                      "correct; send a new value with POST /v1/subjects/{id}/ca125",
                      errors=[{"field": "date", "rule": "not_found",
                               "message": f"no value recorded on {day}"}])
    return row


@router.post("/subjects/{subject_id}/ca125/corrections", response_model=Ca125CorrectionReceipt,
             status_code=201, summary="Correct a stored CA-125 value (the earlier one is kept)",
             responses={404: {"description": "Subject, or a value on that date, not found"},
                        409: {"description": "The stored value already is the one sent"},
                        422: {"description": "Bad input, naming the field; nothing stored"}})
async def correct_ca125(
    subject_id: SubjectId, body: Ca125CorrectionIn, principal: SiteWriter, uow: UoW,
) -> Ca125CorrectionReceipt:
    # A subject awaiting her screening may be corrected by her site too: the value is stored,
    # the prediction waits for the screening (recompute computes none until then).
    subject = await ca125_store.lock_subject(uow, principal, subject_id, create=False)
    measurement = await _measurement_on(uow, subject_id, body.date)
    new = normalise_observation(Ca125Observation(
        effective_date=body.date, value=body.value, unit=body.unit, loinc=body.loinc,
        comparator=body.comparator))
    if (new.value_u_ml, new.censoring) == (measurement.value_u_ml, measurement.censoring):
        raise Problem(409, "Nothing to correct", f"CA-125 on {body.date} already is "
                      f"{measurement.value_u_ml:g} U/mL", errors=[{
                          "field": "value", "rule": "unchanged",
                          "message": "the corrected value equals the stored one"}])
    correction = ca125_store.correct(uow, measurement, new, body.reason.strip(), principal.sub)
    record, new_version = await recompute(uow, subject, "correction")
    await uow.commit()
    return Ca125CorrectionReceipt(
        subject_id=subject_id, status=subject_status(subject),
        correction=correction_view(correction),
        prediction=prediction_view(record, superseded=False) if record else None,
        new_prediction_version=new_version)


@router.get("/subjects/{subject_id}/ca125/corrections",
            response_model=list[Ca125CorrectionView],
            summary="Every correction of the subject's CA-125 values, oldest first")
async def list_corrections(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW,
) -> list[Ca125CorrectionView]:
    await visible_subject(uow, principal, subject_id)
    rows = (await uow.session.exec(select(Ca125Correction).where(
        Ca125Correction.subject_id == subject_id).order_by(col(Ca125Correction.id)))).all()
    return [correction_view(r) for r in rows]
