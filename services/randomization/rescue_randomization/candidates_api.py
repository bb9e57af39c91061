"""What randomization knows about a subject, and whether she can be randomized now."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import select

from rescue_randomization.access import ProtocolVersion
from rescue_randomization.protocol import load_protocol
from rescue_randomization.randomizability import unmet_conditions
from rescue_randomization.schemas import Candidate, SubjectId, UnmetCondition
from rescue_randomization.tables import (
    Allocation,
    RandomizationCandidate,
    SubjectPrediction,
    Trial,
)
from rescue_randomization.trial import config_of
from rescue_shared.auth import AnyTrialRole, ensure_same_site
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["candidates"])


@router.get("/candidates/{subject_id}", response_model=Candidate,
            summary="What randomization knows about a subject; the conditions she still misses")
async def get_candidate(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW, version: ProtocolVersion
) -> Candidate:
    session = uow.session
    candidate = await session.get(RandomizationCandidate, subject_id)
    ensure_same_site(principal, candidate.site_id if candidate else None, f"subject {subject_id}")
    assert candidate is not None
    prediction = await session.get(SubjectPrediction, subject_id)
    trial = await session.get(Trial, 1)
    strata = config_of(trial).strata if trial else load_protocol(version).randomization.strata
    randomized = (await session.exec(
        select(Allocation.sequence).where(Allocation.subject_id == subject_id))).first()
    unmet = unmet_conditions(candidate, prediction, strata)
    pfi = (candidate.clinical_facts or {}).get("platinum_free_interval_months")
    return Candidate(
        subject_id=candidate.subject_id, site_id=candidate.site_id,
        latest_screening_id=candidate.latest_screening_id,
        screening_outcome=candidate.screening_outcome,
        awaiting_prediction=candidate.awaiting_prediction,
        screenings_seen=candidate.screenings_seen, first_seen_at=candidate.first_seen_at,
        eligibility_status=candidate.eligibility_status,  # type: ignore[arg-type]
        prediction_classification=prediction.classification if prediction else None,  # type: ignore[arg-type]
        prediction_version=prediction.version if prediction else None,
        platinum_free_interval_months=pfi if isinstance(pfi, int | float) else None,
        randomized=randomized is not None,
        randomizable=not unmet and randomized is None,
        unmet_conditions=[UnmetCondition(**c.as_dict()) for c in unmet])
