"""What the prediction service learns from a screening (`eligibility.screened`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rescue_prediction.domain.audit_records import subject_record
from rescue_prediction.service_layer.predictions import recompute_prediction
from rescue_prediction.service_layer.quarantine import quarantine_inputs
from rescue_prediction.service_layer.unit_of_work import PredictionUnitOfWork
from rescue_shared.audit.chain import Actor, AuditDraft


@dataclass(frozen=True)
class Screening:
    """A subject's screening at a site, with the clinical facts the scores read."""

    subject_id: str
    site_id: str
    screening_id: str
    outcome: str
    clinical_facts: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None  # the event that told us (causation of what we emit)


async def subject_screened(uow: PredictionUnitOfWork, screening: Screening) -> None:
    """Remember the subject and the facts the AGO and iMODEL scores need; when she already has
    CA-125 values or an official KELIM, recompute her prediction with the new facts.

    Her site may have sent values before the screening arrived (she is then provisional): they
    are used now, as if they had come after it. If the screening names another site, those
    values are quarantined instead (kept, never used) and she becomes the screening site's
    subject. The caller commits (the event consumer, with its inbox row). Audited as
    `screening.applied` (and `ca125.quarantined`) by the consumer, naming the event.
    """
    actor = Actor.consumer(screening.event_id)
    subject = await uow.subjects.lock_or_create(screening.subject_id, screening.site_id)
    before = subject_record(subject)
    quarantined = subject.awaiting_screening and subject.site_id != screening.site_id
    if quarantined:
        await quarantine_inputs(uow, subject, screening.site_id, screening.screening_id, actor)
        subject.site_id = screening.site_id
    subject.record_screening(screening.screening_id, screening.outcome,
                             screening.clinical_facts)
    await uow.subjects.save(subject)
    uow.audit.record(AuditDraft(action="screening.applied", actor=actor,
                                site_id=subject.site_id, subject_id=subject.subject_id,
                                before=before, after=subject_record(subject)))
    if quarantined:
        return  # nothing of hers is left to predict from
    series = await uow.ca125.series(subject.subject_id)
    official = await uow.official_kelims.latest(subject.subject_id)
    if series or official is not None:
        await recompute_prediction(uow, subject, "screening", series=series, official=official,
                                   actor=actor, causation_id=screening.event_id)
