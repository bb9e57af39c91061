"""What randomization knows about a subject, and whether she can be randomized now."""

from __future__ import annotations

from rescue_randomization.domain.randomizability import unmet_conditions
from rescue_randomization.service_layer.trial_setup import configuration_in_force
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_randomization.service_layer.views import Candidate, UnmetCondition
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import NotFound


async def candidate_status(uow: RandomizationUnitOfWork, actor: Principal, subject_id: str, *,
                           protocol_version: str) -> Candidate:
    """What the events told about the subject, and every condition she still misses."""
    candidate = await uow.candidates.get(subject_id)
    if candidate is None or not actor.can_access_site(candidate.site_id):
        raise NotFound(f"subject {subject_id} not found")
    prediction = await uow.predictions.get(subject_id)
    strata = (await configuration_in_force(uow, protocol_version)).strata
    randomized = await uow.allocations.is_randomized(subject_id)
    unmet = unmet_conditions(candidate, prediction, strata)
    pfi = (candidate.clinical_facts or {}).get("platinum_free_interval_months")
    return Candidate(
        subject_id=candidate.subject_id, site_id=candidate.site_id,
        latest_screening_id=candidate.latest_screening_id,
        screening_outcome=candidate.screening_outcome,
        awaiting_prediction=candidate.awaiting_prediction,
        screenings_seen=candidate.screenings_seen, first_seen_at=candidate.first_seen_at,
        eligibility_status=candidate.eligibility_status,
        prediction_classification=prediction.classification if prediction else None,
        prediction_version=prediction.version if prediction else None,
        platinum_free_interval_months=pfi if isinstance(pfi, int | float) else None,
        randomized=randomized,
        randomizable=not unmet and not randomized,
        unmet_conditions=[UnmetCondition(**c.as_dict()) for c in unmet])
