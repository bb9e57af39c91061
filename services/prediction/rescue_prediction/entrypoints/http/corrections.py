"""Correcting a stored CA-125 value: a transcription error must not drive the prediction forever.

Sending a different value for a recorded day is a 409 (one value per day); a site that finds its
value wrong says so here, with a reason. The measurement takes the corrected value, the earlier one
is kept in the correction history (who, when, why), and the prediction is recomputed: a changed
classification or KELIM becomes a new version and a new `prediction.completed`.
"""

from __future__ import annotations

from fastapi import APIRouter

from rescue_prediction.domain.model import Ca125Correction
from rescue_prediction.domain.units import Ca125Observation
from rescue_prediction.entrypoints.http.dependencies import (
    SiteWriter,
    UoW,
    optional_prediction_view,
    subject_status,
)
from rescue_prediction.entrypoints.http.schemas import (
    Ca125CorrectionIn,
    Ca125CorrectionReceipt,
    Ca125CorrectionView,
    SubjectId,
)
from rescue_prediction.service_layer import ca125
from rescue_shared.auth import AnyTrialRole

router = APIRouter(prefix="/v1", tags=["subjects"])


def correction_view(c: Ca125Correction) -> Ca125CorrectionView:
    return Ca125CorrectionView(
        date=c.effective_date, previous_value_u_ml=c.previous_value_u_ml,
        previous_original=f"{c.previous_original_value:g} {c.previous_original_unit}",
        previous_censoring=c.previous_censoring, value_u_ml=c.value_u_ml,
        original=f"{c.original_value:g} {c.original_unit}", censoring=c.censoring,
        reason=c.reason, corrected_by=c.corrected_by, corrected_at=c.corrected_at)


@router.post("/subjects/{subject_id}/ca125/corrections", response_model=Ca125CorrectionReceipt,
             status_code=201, summary="Correct a stored CA-125 value (the earlier one is kept)",
             responses={404: {"description": "Subject, or a value on that date, not found"},
                        409: {"description": "The stored value already is the one sent"},
                        422: {"description": "Bad input, naming the field; nothing stored"}})
async def correct_ca125(
    subject_id: SubjectId, body: Ca125CorrectionIn, principal: SiteWriter, uow: UoW,
) -> Ca125CorrectionReceipt:
    corrected = await ca125.correct_ca125(uow, principal, subject_id, ca125.Ca125CorrectionRequest(
        value=Ca125Observation(effective_date=body.date, value=body.value, unit=body.unit,
                               loinc=body.loinc, comparator=body.comparator),
        reason=body.reason))
    return Ca125CorrectionReceipt(
        subject_id=subject_id, status=subject_status(corrected.subject),
        correction=correction_view(corrected.correction),
        prediction=optional_prediction_view(corrected.prediction),
        new_prediction_version=corrected.new_prediction_version)


@router.get("/subjects/{subject_id}/ca125/corrections",
            response_model=list[Ca125CorrectionView],
            summary="Every correction of the subject's CA-125 values, oldest first")
async def list_corrections(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW,
) -> list[Ca125CorrectionView]:
    return [correction_view(c) for c in await ca125.list_corrections(uow, principal, subject_id)]
