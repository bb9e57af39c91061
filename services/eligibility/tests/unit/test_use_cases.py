"""The eligibility use cases on in-memory fakes: each rule and each refusal, no database (the same
behaviour over HTTP and on both databases is in tests/integration)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from eligibility_fakes import FakeEligibilityUnitOfWork, FakeStore
from harness import ELIGIBLE_FACTS

from rescue_eligibility.domain.facts import ClinicalFacts
from rescue_eligibility.domain.model import Screening
from rescue_eligibility.service_layer import criteria, screenings
from rescue_eligibility.service_layer.decisions import apply_prediction
from rescue_eligibility.service_layer.subject_ids import list_access_refusals
from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    SubjectScreened,
)
from rescue_shared.errors import Forbidden, Invalid, NotFound

S01 = Principal(sub="nurse-1", site_id="S01", roles=frozenset({"site_user"}))
S02 = Principal(sub="doctor-2", site_id="S02", roles=frozenset({"investigator"}))
MONITOR = Principal(sub="monitor-1", site_id=None, roles=frozenset({"monitor"}))
UNAVAILABLE = {"errors": [{
    "field": "subject_id", "rule": "unavailable",
    "message": "this subject id cannot be used at your site; choose another pseudonym"}]}


class Trial:
    """One store (the database) and the events every committed unit of work announced."""

    def __init__(self) -> None:
        self.store = FakeStore()
        self.events: list[EventEnvelope[Any]] = []

    def unit(self) -> FakeEligibilityUnitOfWork:
        return FakeEligibilityUnitOfWork(self.store)

    def announced(self, uow: FakeEligibilityUnitOfWork) -> None:
        self.events += uow.committed

    def payloads(self) -> list[Any]:
        return [e.payload for e in self.events]

    async def screen(self, subject_id: str, caller: Principal = S01, **facts: Any) -> Screening:
        uow = self.unit()
        try:
            return await screenings.screen_subject(
                uow, caller, subject_id=subject_id, screening_date=date(2026, 3, 2),
                facts=ClinicalFacts.model_validate(ELIGIBLE_FACTS | facts))
        finally:
            self.announced(uow)

    async def predict(self, subject_id: str, version: int, classification: str,
                      site_id: str = "S01") -> str:
        """Apply a prediction as the consumer does (it commits the handler's unit of work)."""
        event_id = str(uuid.uuid4())
        uow = self.unit()
        await apply_prediction(uow, PredictionCompleted(
            prediction_id=uuid.uuid4(), version=version,
            classification=classification,
            kelim=1.2, kelim_standardized=1.3, kelim_source="local_estimate",
            model_version="test", protocol_version="prediction-v1"),
            subject_id=subject_id, site_id=site_id, causation_id=event_id)
        await uow.commit()
        self.announced(uow)
        return event_id

    async def stored(self, screening: Screening) -> Screening:
        found = await self.unit().screenings.get(screening.id)
        assert found is not None
        return found


@pytest.fixture
def trial() -> Trial:
    return Trial()


async def test_an_eligible_screening_is_recorded_announced_and_awaits_the_prediction(
    trial: Trial,
) -> None:
    screening = await trial.screen("S01-0001")

    assert (screening.result.outcome, screening.final_decision) == ("eligible", "pending")
    assert (screening.protocol_version, screening.screened_by) == ("1", "nurse-1")
    assert await trial.stored(screening) == screening
    subject = await trial.unit().subjects.get("S01-0001")
    assert subject is not None and subject.latest_screening_id == screening.id
    [screened] = trial.events
    assert isinstance(screened.payload, SubjectScreened)
    assert (screened.subject_id, screened.site_id) == ("S01-0001", "S01")
    assert screened.payload.screening_id == uuid.UUID(screening.id)
    assert screened.payload.awaiting_prediction is True


async def test_the_protocol_version_in_force_is_the_one_applied_and_recorded(
    trial: Trial,
) -> None:
    uow = FakeEligibilityUnitOfWork(trial.store, protocol_version="9")
    with pytest.raises(ValueError, match=r"eligibility-v9\.yaml"):
        await screenings.screen_subject(
            uow, S01, subject_id="S01-0002", screening_date=date(2026, 3, 2),
            facts=ClinicalFacts.model_validate(ELIGIBLE_FACTS))
    assert trial.store.screenings == {} and uow.committed == []
    assert criteria.criteria_in_force(trial.unit()).current_version == "1"


async def test_a_favourable_prediction_confirms_once_and_a_redelivery_changes_nothing(
    trial: Trial,
) -> None:
    screening = await trial.screen("S01-0003")
    event_id = await trial.predict("S01-0003", 1, "highly_likely_complete_resection")
    await trial.predict("S01-0003", 1, "highly_likely_complete_resection")

    decided = await trial.stored(screening)
    assert decided.final_decision == "eligible" and decided.decided_at is not None
    assert [type(p) for p in trial.payloads()] == [SubjectScreened, EligibilityConfirmed]
    assert trial.payloads()[1].screening_id == uuid.UUID(screening.id)
    assert trial.events[1].causation_id == event_id


async def test_a_newer_unfavourable_prediction_rejects_and_an_older_one_is_ignored(
    trial: Trial,
) -> None:
    screening = await trial.screen("S01-0004")
    await trial.predict("S01-0004", 2, "not_highly_likely")
    await trial.predict("S01-0004", 1, "highly_likely_complete_resection")

    assert (await trial.stored(screening)).final_decision == "ineligible"
    assert [type(p) for p in trial.payloads()] == [SubjectScreened, EligibilityRejected]
    rejected = trial.payloads()[1]
    assert rejected.failed_criteria == ["INC-05"] and "not highly likely" in rejected.reason


async def test_insufficient_data_leaves_the_decision_pending_and_unannounced(
    trial: Trial,
) -> None:
    screening = await trial.screen("S01-0005")
    await trial.predict("S01-0005", 1, "insufficient_data")

    stored = await trial.stored(screening)
    assert (stored.final_decision, stored.decided_at) == ("pending", None)
    assert stored.current.prediction_classification == "insufficient_data"
    assert [type(p) for p in trial.payloads()] == [SubjectScreened]


async def test_a_prediction_before_her_first_screening_decides_it_at_once(trial: Trial) -> None:
    await trial.predict("S01-0006", 1, "highly_likely_complete_resection")
    assert trial.events == []

    screening = await trial.screen("S01-0006")
    assert screening.final_decision == "eligible"
    assert [type(p) for p in trial.payloads()] == [SubjectScreened, EligibilityConfirmed]


@pytest.mark.parametrize(("subject_id", "cause"), [
    ("S01-0007", "another_site"), ("Unknown", "reserved"), ("s01-0007", "confusable")])
async def test_an_unusable_id_is_refused_with_one_answer_and_only_the_refusal_is_kept(
    trial: Trial, subject_id: str, cause: str,
) -> None:
    await trial.screen("S01-0007")
    before = (len(trial.events), dict(trial.store.screenings), dict(trial.store.subjects))

    with pytest.raises(Invalid) as refused:
        await trial.screen(subject_id, S02)

    assert refused.value.detail == "invalid field(s): subject_id"
    assert refused.value.extensions == UNAVAILABLE
    assert (len(trial.events), trial.store.screenings, trial.store.subjects) == before
    [refusal] = await list_access_refusals(trial.unit())
    assert (refusal.subject_id, refusal.site_id, refusal.actor, refusal.action, refusal.cause) == (
        subject_id, "S02", "doctor-2", "screening", cause)
    assert refusal.actor_roles == ["investigator"]


async def test_screening_needs_a_token_bound_to_a_site(trial: Trial) -> None:
    siteless = Principal(sub="x", site_id=None, roles=frozenset({"investigator"}))
    with pytest.raises(Forbidden, match="site_id"):
        await trial.screen("S01-0008", siteless)
    assert trial.store == FakeStore() and trial.events == []


async def test_access_refusals_newest_first_by_site_and_subject(trial: Trial) -> None:
    for subject_id, caller in (("test", S01), ("none", S02), ("tbd", S02)):
        with pytest.raises(Invalid):
            await trial.screen(subject_id, caller)
    uow = trial.unit()
    assert [r.subject_id for r in await list_access_refusals(uow)] == ["tbd", "none", "test"]
    assert [r.subject_id for r in await list_access_refusals(uow, site_id="S02", limit=1)] == [
        "tbd"]
    assert [r.site_id for r in await list_access_refusals(uow, subject_id="test")] == ["S01"]


async def test_screenings_are_read_back_by_their_site_and_the_trial_team_only(
    trial: Trial,
) -> None:
    first = await trial.screen("S01-0009", platinum_free_interval_months=5.0)
    second = await trial.screen("S01-0009")
    uow = trial.unit()

    assert await screenings.get_screening(uow, MONITOR, first.id) == first
    assert [s.id for s in await screenings.screening_history(uow, S01, "S01-0009")] == [
        first.id, second.id]
    with pytest.raises(NotFound, match=f"screening {first.id} not found"):
        await screenings.get_screening(uow, S02, first.id)
    with pytest.raises(NotFound, match="subject S01-0009 not found"):
        await screenings.screening_history(uow, S02, "S01-0009")
    with pytest.raises(NotFound):
        await screenings.screening_history(uow, S01, "S01-9999")


async def test_the_screening_log_counts_her_latest_screening_within_the_callers_sites(
    trial: Trial,
) -> None:
    await trial.screen("S01-0010", platinum_free_interval_months=5.0)
    await trial.screen("S01-0010")
    await trial.screen("S02-0001", S02, age_years=18)
    uow = trial.unit()

    everyone = await screenings.screening_log(uow, MONITOR)
    assert (everyone.screenings, everyone.totals.subjects, everyone.totals.eligible) == (3, 2, 1)
    assert everyone.ineligible_by_criterion == {"INC-04": 1}
    own = await screenings.screening_log(uow, S01)
    assert (own.screenings, set(own.by_site)) == (2, {"S01"})
    siteless = Principal(sub="x", site_id=None, roles=frozenset({"site_user"}))
    assert (await screenings.screening_log(uow, siteless)).screenings == 0


async def test_criteria_in_force_and_of_any_shipped_version(trial: Trial) -> None:
    uow = trial.unit()
    in_force = criteria.criteria_in_force(uow)
    assert (in_force.current_version, in_force.protocol.version) == ("1", "1")
    assert "1" in in_force.available_versions
    assert criteria.protocol_of_version(uow, "1") is in_force.protocol
