"""Quarantine: values a site sent for a subject before her screening, when the screening names
another site (README, Prediction: values before the screening).

A site may send CA-125 values (or an official KELIM, or corrections) for a subject this service
does not know yet; they are kept for that site (a provisional subject) and used once
`eligibility.screened` arrives. If the screening was done at another site, those values cannot
be trusted to be hers (a mistyped pseudonym, a subject transferred): they are moved to
quarantine, never used in any fit, never dropped, and shown to monitors with who sent them,
when, as sent, and why they were set aside.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from rescue_prediction.domain.model import QuarantinedInput, QuarantineKind, Subject
from rescue_prediction.service_layer.access import now
from rescue_prediction.service_layer.unit_of_work import PredictionUnitOfWork
from rescue_shared.audit.chain import Actor, AuditDraft

log = logging.getLogger(__name__)


def quarantine_reason(screened_at: str, sent_by: str) -> str:
    return (f"screened at site {screened_at}, values sent by site {sent_by} before the "
            "screening arrived: not used for the prediction until the sites resolve it")


async def quarantine_inputs(uow: PredictionUnitOfWork, subject: Subject, screened_at: str,
                            screening_id: str, actor: Actor) -> int:
    """Move every input the provisional subject's site sent into quarantine; the number moved.

    The subject keeps nothing of them (no value, no KELIM, no chemotherapy start), so no fit can
    read them; the caller then hands her to the screening's site.
    """
    sent_by = subject.site_id
    reason = quarantine_reason(screened_at, sent_by)
    at = now()
    items: list[QuarantinedInput] = []

    def keep(kind: QuarantineKind, received_by: str | None, received_at: datetime | None,
             payload: dict[str, Any]) -> None:
        items.append(QuarantinedInput(
            subject_id=subject.subject_id, kind=kind, sent_by_site_id=sent_by,
            screened_at_site_id=screened_at, screening_id=screening_id, received_by=received_by,
            received_at=received_at, payload=payload, reason=reason, quarantined_at=at))

    start = subject.chemotherapy_start_date
    if start is not None:
        keep("chemotherapy_start_date", subject.chemotherapy_start_recorded_by, None,
             {"chemotherapy_start_date": start.isoformat()})
    for m in await uow.ca125.series(subject.subject_id):
        keep("ca125", m.received_by, m.received_at, {
            "date": m.effective_date.isoformat(), "value_u_ml": m.value_u_ml,
            "original_value": m.original_value, "original_unit": m.original_unit,
            "loinc": m.loinc, "censoring": m.censoring, "source": m.source,
            "fhir_id": m.fhir_id})
    for c in await uow.corrections.of_subject(subject.subject_id):
        keep("ca125_correction", c.corrected_by, c.corrected_at, {
            "date": c.effective_date.isoformat(), "previous_value_u_ml": c.previous_value_u_ml,
            "previous_original_value": c.previous_original_value,
            "previous_original_unit": c.previous_original_unit,
            "previous_censoring": c.previous_censoring, "value_u_ml": c.value_u_ml,
            "original_value": c.original_value, "original_unit": c.original_unit,
            "censoring": c.censoring, "reason": c.reason})
    for k in await uow.official_kelims.of_subject(subject.subject_id):
        keep("kelim_external", k.received_by, k.received_at, {
            "value": k.kelim.value, "scale": k.kelim.scale, "source": k.kelim.source,
            "version": k.kelim.version,
            "computed_on": k.kelim.computed_on.isoformat() if k.kelim.computed_on else None})
    await uow.ca125.remove_all(subject.subject_id)
    await uow.corrections.remove_all(subject.subject_id)
    await uow.official_kelims.remove_all(subject.subject_id)
    subject.chemotherapy_start_date = None
    subject.chemotherapy_start_recorded_by = None
    await uow.quarantine.add_all(items)
    await uow.subjects.save(subject)
    if items:
        uow.audit.record(AuditDraft(
            action="inputs.quarantined", actor=actor, site_id=sent_by,
            subject_id=subject.subject_id, reason=reason,
            before=[{"kind": i.kind, **i.payload} for i in items], after=None))
        log.warning("subject %s: %d value(s) sent by site %s quarantined (screened at site %s)",
                    subject.subject_id, len(items), sent_by, screened_at)
    return len(items)


async def list_quarantine(uow: PredictionUnitOfWork,
                          subject_id: str | None = None) -> list[QuarantinedInput]:
    """Every quarantined item (of one subject, when given), oldest first; none is ever used in
    a prediction. Who may see them is the entrypoint's concern (monitors and admins)."""
    return await uow.quarantine.items(subject_id)
