"""A KELIM from the official calculator: it takes precedence over the local estimate, which stays
reported beside it (docs/protocol/kelim.md § Which value the prediction uses)."""

from __future__ import annotations

from dataclasses import dataclass

from rescue_prediction.domain.audit_records import official_kelim_record
from rescue_prediction.domain.kelim import OfficialKelim
from rescue_prediction.domain.model import PredictionVersion, ReceivedOfficialKelim, Subject
from rescue_prediction.service_layer.access import Caller, lock_own_subject, now
from rescue_prediction.service_layer.predictions import recompute_prediction
from rescue_prediction.service_layer.unit_of_work import PredictionUnitOfWork
from rescue_shared.audit.chain import AuditDraft
from rescue_shared.audit.trail import actor_of


@dataclass(frozen=True)
class OfficialKelimRecorded:
    subject: Subject
    official: OfficialKelim
    already_known: bool  # the same KELIM was the latest received
    prediction: PredictionVersion | None
    new_prediction_version: bool


async def record_official_kelim(uow: PredictionUnitOfWork, caller: Caller, subject_id: str,
                                kelim: OfficialKelim) -> OfficialKelimRecorded:
    """Record the official KELIM (unless it is the latest already) and recompute the prediction.

    Audited as `kelim.external_recorded` (the previous official KELIM as before). Refused:
    another site's subject (NotFound). A subject not screened yet is kept for the
    caller's site (provisional; no prediction until her screening arrives).
    """
    subject = await lock_own_subject(uow, caller, subject_id)
    actor = actor_of(caller)
    latest = await uow.official_kelims.latest(subject_id)
    same = latest is not None and latest.kelim == kelim
    if latest is None or not same:
        previous = latest
        latest = ReceivedOfficialKelim(subject_id=subject_id, kelim=kelim,
                                       received_by=caller.sub, received_at=now())
        await uow.official_kelims.add(latest)
        uow.audit.record(AuditDraft(
            action="kelim.external_recorded", actor=actor, site_id=subject.site_id,
            subject_id=subject_id,
            before=official_kelim_record(previous) if previous else None,
            after=official_kelim_record(latest)))
    prediction, new_version = await recompute_prediction(
        uow, subject, "kelim_external", series=await uow.ca125.series(subject_id),
        official=latest, actor=actor)
    await uow.commit()
    return OfficialKelimRecorded(subject=subject, official=latest.kelim, already_known=same,
                                 prediction=prediction, new_prediction_version=new_version)
