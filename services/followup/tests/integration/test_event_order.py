"""Events of other services in any order end in the same state (both engines).

A replayed or dead-letter-replayed event may overtake another of the same subject. Each story
is delivered in the order it happened to a subject of site S01 and in reverse order to a subject
of site S02; the two sites' views must then be the same.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import BaseModel
from sqlmodel import select

from rescue_followup.adapters.tables import (
    EligibilityDecision,
    FollowupSubject,
    PendingInvalidation,
    PredictionRecord,
)
from rescue_shared.contracts import new_event
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    RandomizationAssigned,
    RandomizationInvalidated,
    SubjectScreened,
)
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
Deliver = Callable[[EventEnvelope[Any]], Awaitable[None]]
Story = Callable[[str, str], list[EventEnvelope[Any]]]
RANDOMIZED = dt.date.today() - dt.timedelta(days=200)
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def event(payload: BaseModel, subject_id: str, site: str, minute: int,
          producer: str = "eligibility") -> EventEnvelope[Any]:
    return new_event(payload, producer=producer, trial_id="NCT07295132", site_id=site,
                     subject_id=subject_id, correlation_id=str(uuid.uuid4()),
                     occurred_at=START + dt.timedelta(minutes=minute))


def screening(subject_id: str, site: str, minute: int,
              outcome: str = "eligible") -> EventEnvelope[Any]:
    return event(SubjectScreened(
        screening_id=uuid.uuid4(), screening_date=START.date(), protocol_version="1",
        outcome=outcome,  # type: ignore[arg-type]
        awaiting_prediction=outcome == "eligible",
        failed_criteria=["INC-02"] if outcome == "ineligible" else [], missing_facts=[],
        clinical_facts={}), subject_id, site, minute)


def decision(screened: EventEnvelope[Any], minute: int, confirmed: bool) -> EventEnvelope[Any]:
    screening_id = screened.payload.screening_id
    payload: BaseModel = (
        EligibilityConfirmed(screening_id=screening_id, protocol_version="1") if confirmed
        else EligibilityRejected(screening_id=screening_id, protocol_version="1",
                                 failed_criteria=["INC-05"], reason="INC-05 not met"))
    return event(payload, screened.subject_id, screened.site_id, minute)


def prediction(subject_id: str, site: str, minute: int, version: int,
               classification: str) -> EventEnvelope[Any]:
    return event(PredictionCompleted(
        prediction_id=uuid.uuid4(), version=version,
        classification=classification,  # type: ignore[arg-type]
        model_version="test", protocol_version="prediction-v1"), subject_id, site, minute,
        "prediction")


def assignment(subject_id: str, site: str, minute: int) -> EventEnvelope[Any]:
    return event(RandomizationAssigned(
        randomization_number=f"R-{subject_id}", arm="SCS_CHEMO",
        stratum={"kelim": "favourable"}, randomization_date=RANDOMIZED,
        scheme="stratified-block-v1"), subject_id, site, minute, "randomization")


def invalidation(subject_id: str, site: str, minute: int) -> EventEnvelope[Any]:
    return event(RandomizationInvalidated(
        randomization_number=f"R-{subject_id}", reason="randomized twice by mistake",
        invalidated_by="dm-1", invalidated_at=START + dt.timedelta(days=1)),
        subject_id, site, minute, "randomization")


async def both_orders(deliver: Deliver, story: Story) -> None:
    for event_ in story("S01-0001", "S01"):
        await deliver(event_)
    for event_ in reversed(story("S02-0001", "S02")):
        await deliver(event_)


async def consort(service: RunningService, site: str,
                  population: str = "itt") -> dict[str, Any]:
    response = await service.client.get("/v1/consort", params={"population": population},
                                        headers=auth(site, "investigator"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def same_consort(service: RunningService) -> dict[str, Any]:
    in_order = await consort(service, "S01")
    assert await consort(service, "S02") == in_order
    for population in ("itt", "excluding_invalidated"):
        assert (await consort(service, "S02", population)
                == await consort(service, "S01", population))
    return in_order


async def test_an_invalidation_before_its_allocation_is_parked_then_applied(
    followup: RunningService, deliver: Deliver,
) -> None:
    def story(subject_id: str, site: str) -> list[EventEnvelope[Any]]:
        return [assignment(subject_id, site, 0), invalidation(subject_id, site, 5)]

    await both_orders(deliver, story)

    async with followup.app.state.database.session() as session:
        subjects = (await session.exec(select(FollowupSubject))).all()
    views = [(s.invalidated, s.invalidated_at, s.invalidation_reason)
             for s in sorted(subjects, key=lambda s: s.subject_id)]
    assert views[0] == views[1]
    assert views[0][0] is True and views[0][2] == "randomized twice by mistake"
    flow = await same_consort(followup)
    assert sum(arm["invalidated"] for arm in flow["allocation"]) == 1
    excluding = await consort(followup, "S02", "excluding_invalidated")
    assert sum(arm["analysed"] for arm in excluding["allocation"]) == 0
    async with followup.app.state.database.session() as session:
        parked = (await session.exec(select(PendingInvalidation))).all()
    assert [(p.subject_id, p.randomization_number, p.applied_at is not None) for p in parked] == [
        ("S02-0001", "R-S02-0001", True)]


async def test_an_invalidation_of_an_allocation_never_seen_stays_parked(
    followup: RunningService, deliver: Deliver,
) -> None:
    await deliver(invalidation("S01-0009", "S01", 0))
    await deliver(invalidation("S01-0009", "S01", 0))  # a republished copy parks nothing more
    async with followup.app.state.database.session() as session:
        parked = (await session.exec(select(PendingInvalidation))).all()
    assert [(p.subject_id, p.applied_at) for p in parked] == [("S01-0009", None)]


async def test_decisions_in_any_order_keep_the_one_that_occurred_last(
    followup: RunningService, deliver: Deliver,
) -> None:
    """Screened, confirmed, re-screened, rejected: reversed, the first screening's confirmation
    arrives last and must not overwrite the rejection of the newer screening."""
    def story(subject_id: str, site: str) -> list[EventEnvelope[Any]]:
        first = screening(subject_id, site, 0)
        second = screening(subject_id, site, 10)
        return [first, decision(first, 1, confirmed=True), second,
                decision(second, 11, confirmed=False)]

    await both_orders(deliver, story)

    async with followup.app.state.database.session() as session:
        rows = {d.subject_id: d for d in (await session.exec(select(EligibilityDecision))).all()}
    kept = {(d.decision, d.decided_at) for d in rows.values()}
    assert kept == {("rejected", START + dt.timedelta(minutes=11))} and len(rows) == 2
    flow = await same_consort(followup)
    assert flow["enrollment"]["excluded"]["not_meeting_inclusion_criteria"] == 1
    assert flow["enrollment"]["excluded"]["by_criterion"] == {"INC-05": 1}


async def test_screenings_in_any_order_the_one_that_occurred_last_is_the_latest(
    followup: RunningService, deliver: Deliver,
) -> None:
    def story(subject_id: str, site: str) -> list[EventEnvelope[Any]]:
        return [screening(subject_id, site, 0, "ineligible"), screening(subject_id, site, 10)]

    await both_orders(deliver, story)

    flow = await same_consort(followup)
    assert flow["latest_outcome_by_subject"] == {"eligible": 1} and flow["screenings"] == 2
    assert flow["enrollment"]["awaiting_eligibility_decision"] == 1


async def test_prediction_versions_in_any_order_keep_the_highest(
    followup: RunningService, deliver: Deliver,
) -> None:
    def story(subject_id: str, site: str) -> list[EventEnvelope[Any]]:
        return [screening(subject_id, site, 0),
                prediction(subject_id, site, 5, 1, "insufficient_data"),
                prediction(subject_id, site, 9, 2, "highly_likely_complete_resection")]

    await both_orders(deliver, story)

    async with followup.app.state.database.session() as session:
        rows = (await session.exec(select(PredictionRecord))).all()
    assert {(r.version, r.classification) for r in rows} == {
        (2, "highly_likely_complete_resection")}
    flow = await same_consort(followup)
    assert flow["enrollment"]["predicted_by_classification"] == {
        "highly_likely_complete_resection": 1}


async def test_a_whole_journey_delivered_backwards_ends_as_delivered_forwards(
    followup: RunningService, deliver: Deliver,
) -> None:
    def story(subject_id: str, site: str) -> list[EventEnvelope[Any]]:
        screened = screening(subject_id, site, 0)
        return [screened, prediction(subject_id, site, 5, 1, "highly_likely_complete_resection"),
                decision(screened, 6, confirmed=True), assignment(subject_id, site, 20),
                invalidation(subject_id, site, 30)]

    await both_orders(deliver, story)

    flow = await same_consort(followup)
    assert flow["enrollment"]["randomized"] == 1 and flow["enrollment"]["predicted"] == 1
    assert sum(arm["invalidated"] for arm in flow["allocation"]) == 1
