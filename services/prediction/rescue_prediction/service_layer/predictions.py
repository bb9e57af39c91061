"""A subject's prediction: recomputed from what is stored, versioned, announced when it changes.

Called in the same unit of work as the change of inputs (CA-125 values, an official KELIM, new
screening facts), with the inputs the caller already holds (the series is read once per request).
A new version is stored, and `prediction.completed` staged in the outbox, only when the
classification or the KELIM (value or source) differs from the version in force
(docs/reliability.md: the event is committed with the state change).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from rescue_prediction.domain.audit_records import prediction_record
from rescue_prediction.domain.model import (
    PredictionVersion,
    ReceivedOfficialKelim,
    StoredCa125,
    Subject,
)
from rescue_prediction.domain.prediction import changes_materially, compute_prediction
from rescue_prediction.service_layer import queries
from rescue_prediction.service_layer.access import Caller, now, visible_subject
from rescue_prediction.service_layer.unit_of_work import PredictionUnitOfWork
from rescue_shared.audit.chain import Actor, AuditDraft
from rescue_shared.contracts.events import PredictionCompleted
from rescue_shared.errors import NotFound


async def recompute_prediction(
    uow: PredictionUnitOfWork, subject: Subject, trigger: str, *,
    series: Sequence[StoredCa125], official: ReceivedOfficialKelim | None, actor: Actor,
    causation_id: str | None = None,
) -> tuple[PredictionVersion | None, bool]:
    """Recompute from `series` and `official` (her stored inputs); store and announce a new
    version if it changed materially (audited as `prediction.made` by `actor`, whose change
    triggered it, the version it replaces as before).

    Returns the version in force (None when there is none) and whether it is new. The caller
    holds the subject's lock, so versions cannot collide. A subject awaiting her screening gets
    none: the scores need the screening facts, and her values are used when it arrives.
    """
    if subject.awaiting_screening:
        return None, False
    await queries.check_subject(uow, subject, series)
    body = compute_prediction(
        clinical_facts=subject.clinical_facts, screening_id=subject.latest_screening_id,
        start=subject.chemotherapy_start_date, series=series,
        official=official.kelim if official else None, protocol=uow.protocol)
    in_force = await uow.predictions.in_force(subject.subject_id)
    if not changes_materially(body, in_force):
        return in_force, False
    k = body.kelim
    version = PredictionVersion(
        prediction_id=str(uuid.uuid4()), subject_id=subject.subject_id, site_id=subject.site_id,
        version=(in_force.version + 1) if in_force else 1, classification=body.classification,
        kelim_per_day=k.k_per_day, kelim_standardized=k.standardized, kelim_source=k.source,
        model_version=body.model_version, protocol_version=body.protocol_version,
        trigger=trigger, result=body.model_dump(mode="json"), created_at=now())
    await uow.predictions.add(version)
    uow.audit.record(AuditDraft(
        action="prediction.made", actor=actor, site_id=subject.site_id,
        subject_id=subject.subject_id,
        before=prediction_record(in_force) if in_force else None,
        after=prediction_record(version)))
    uow.emit(
        PredictionCompleted(
            prediction_id=uuid.UUID(version.prediction_id), version=version.version,
            classification=body.classification, kelim=k.k_per_day,
            kelim_standardized=k.standardized, kelim_source=k.source,
            model_version=body.model_version, protocol_version=body.protocol_version,
            reasons=body.reasons),
        site_id=subject.site_id, subject_id=subject.subject_id, causation_id=causation_id)
    return version, True


async def prediction_in_force(uow: PredictionUnitOfWork, caller: Caller,
                              subject_id: str) -> PredictionVersion:
    """The version in force; NotFound saying what is missing when there is none yet."""
    subject = await visible_subject(uow, caller, subject_id)
    version = await uow.predictions.in_force(subject_id)
    if version is None:
        raise NotFound(f"no prediction for subject {subject_id} yet: "
                       + ("her screening has not arrived (her values are kept and used when it "
                          "does)" if subject.awaiting_screening else
                          "send CA-125 values or an official KELIM"))
    return version


async def prediction_versions(uow: PredictionUnitOfWork, caller: Caller,
                              subject_id: str) -> list[PredictionVersion]:
    """Every version, oldest first (the highest is in force)."""
    await visible_subject(uow, caller, subject_id)
    return await uow.predictions.versions(subject_id)
