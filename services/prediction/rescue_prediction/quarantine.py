"""Quarantine: values a site sent for a subject before her screening, when the screening names
another site.

A site may send CA-125 values (or an official KELIM, or corrections) for a subject this service
does not know yet; they are kept for that site (a provisional subject) and used once
`eligibility.screened` arrives. If the screening was done at another site, those values cannot
be trusted to be hers (a mistyped pseudonym, a subject transferred): they are moved here, never
used in any fit, never dropped, and shown to monitors (`GET /v1/quarantine`) with who sent them,
when, as sent, and why they were set aside.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlmodel import col, select

from rescue_prediction.predictions import measurements_of
from rescue_prediction.schemas import SUBJECT_ID_PATTERN
from rescue_prediction.tables import (
    Ca125Correction,
    ExternalKelim,
    PredictionSubject,
    QuarantinedInput,
)
from rescue_shared.auth import Principal, require_roles
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.service import UoW

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["quarantine"])


def quarantine_reason(screened_at: str, sent_by: str) -> str:
    return (f"screened at site {screened_at}, values sent by site {sent_by} before the "
            "screening arrived: not used for the prediction until the sites resolve it")


async def quarantine_inputs(uow: UnitOfWork, subject: PredictionSubject, screened_at: str,
                            screening_id: str) -> int:
    """Move every input the provisional subject's site sent into quarantine; the number moved.

    The subject keeps nothing of them (no value, no KELIM, no chemotherapy start), so no fit can
    read them; the caller then hands her to the screening's site.
    """
    sent_by = subject.site_id
    reason = quarantine_reason(screened_at, sent_by)
    items: list[QuarantinedInput] = []

    def keep(kind: str, received_by: str | None, received_at: Any,
             payload: dict[str, Any]) -> None:
        items.append(QuarantinedInput(
            subject_id=subject.subject_id, kind=kind, sent_by_site_id=sent_by,
            screened_at_site_id=screened_at, screening_id=screening_id, received_by=received_by,
            received_at=received_at, payload=payload, reason=reason))

    start = subject.chemotherapy_start_date
    if start is not None:
        keep("chemotherapy_start_date", subject.chemotherapy_start_recorded_by, None,
             {"chemotherapy_start_date": start.isoformat()})
    for m in await measurements_of(uow, subject.subject_id):
        keep("ca125", m.received_by, m.received_at, {
            "date": m.effective_date.isoformat(), "value_u_ml": m.value_u_ml,
            "original_value": m.original_value, "original_unit": m.original_unit,
            "loinc": m.loinc, "censoring": m.censoring, "source": m.source,
            "fhir_id": m.fhir_id})
        await uow.session.delete(m)
    corrections = (await uow.session.exec(select(Ca125Correction).where(
        Ca125Correction.subject_id == subject.subject_id)
        .order_by(col(Ca125Correction.id)))).all()
    for c in corrections:
        keep("ca125_correction", c.corrected_by, c.corrected_at, {
            "date": c.effective_date.isoformat(), "previous_value_u_ml": c.previous_value_u_ml,
            "previous_original_value": c.previous_original_value,
            "previous_original_unit": c.previous_original_unit,
            "previous_censoring": c.previous_censoring, "value_u_ml": c.value_u_ml,
            "original_value": c.original_value, "original_unit": c.original_unit,
            "censoring": c.censoring, "reason": c.reason})
        await uow.session.delete(c)
    kelims = (await uow.session.exec(select(ExternalKelim).where(
        ExternalKelim.subject_id == subject.subject_id).order_by(col(ExternalKelim.id)))).all()
    for k in kelims:
        keep("kelim_external", k.received_by, k.received_at, {
            "value": k.value, "scale": k.scale, "source": k.source,
            "version": k.calculator_version,
            "computed_on": k.computed_on.isoformat() if k.computed_on else None})
        await uow.session.delete(k)
    subject.chemotherapy_start_date = None
    subject.chemotherapy_start_recorded_by = None
    uow.session.add_all([*items, subject])
    await uow.session.flush()
    if items:
        log.warning("subject %s: %d value(s) sent by site %s quarantined (screened at site %s)",
                    subject.subject_id, len(items), sent_by, screened_at)
    return len(items)


class QuarantinedView(BaseModel):
    id: int
    subject_id: str
    kind: str = Field(description="ca125 | ca125_correction | kelim_external | "
                                  "chemotherapy_start_date")
    sent_by_site_id: str
    screened_at_site_id: str
    screening_id: str
    received_by: str | None
    received_at: datetime | None = Field(description="When the site sent it (UTC).")
    payload: dict[str, Any] = Field(description="The value as it was stored when sent.")
    reason: str
    quarantined_at: datetime


Overseer = Depends(require_roles("monitor", "admin"))


@router.get("/quarantine", response_model=list[QuarantinedView],
            summary="Values set aside: sent for a subject by a site other than her screening's",
            responses={403: {"description": "Monitors and admins only"}})
async def list_quarantine(
    uow: UoW, principal: Principal = Overseer,
    subject_id: str | None = Query(None, pattern=SUBJECT_ID_PATTERN,
                                   description="Only this subject's items."),
) -> list[QuarantinedView]:
    """Every quarantined item, oldest first. None of them is used in any prediction."""
    statement = select(QuarantinedInput).order_by(col(QuarantinedInput.id))
    if subject_id is not None:
        statement = statement.where(QuarantinedInput.subject_id == subject_id)
    return [QuarantinedView.model_validate(row, from_attributes=True)
            for row in (await uow.session.exec(statement)).all()]
