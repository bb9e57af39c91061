"""Event handlers only translate events into use cases: each one, on the fakes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from followup_fakes import FakeFollowupUnitOfWork, FakeStore
from pydantic import BaseModel

from rescue_followup.app import DEFINITION
from rescue_followup.entrypoints.events import HANDLERS
from rescue_shared.contracts import new_event
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    RandomizationAssigned,
    RandomizationInvalidated,
    RandomizationStrataVerified,
    SubjectScreened,
)
from rescue_shared.contracts.registry import event_type_of
from rescue_shared.messaging.consumer import handler_map

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def envelope(payload: BaseModel, minute: int = 0) -> EventEnvelope[Any]:
    return new_event(payload, producer="test", trial_id="NCT07295132", site_id="S01",
                     subject_id="S01-0001", correlation_id="c",
                     occurred_at=AT + dt.timedelta(minutes=minute))


async def deliver(store: FakeStore, event: EventEnvelope[Any]) -> None:
    uow = FakeFollowupUnitOfWork(store)
    await HANDLERS[type(event.payload)](uow, event)
    await uow.commit()  # the consumer's commit, with its inbox row


def test_handlers_are_keyed_by_registered_payloads_of_the_consumed_topics() -> None:
    handled = handler_map(DEFINITION.handlers)
    assert set(handled) == {SubjectScreened, EligibilityConfirmed, EligibilityRejected,
                            PredictionCompleted, RandomizationAssigned, RandomizationInvalidated,
                            RandomizationStrataVerified}
    assert all(event_type_of(m).topic.name in DEFINITION.consumed_topics for m in handled)


async def test_each_event_reaches_its_use_case() -> None:
    store = FakeStore()
    screening_id = uuid.uuid4()
    await deliver(store, envelope(SubjectScreened(
        screening_id=screening_id, screening_date=AT.date(), protocol_version="1",
        outcome="ineligible", awaiting_prediction=False, failed_criteria=["INC-02"],
        missing_facts=[], clinical_facts={})))
    await deliver(store, envelope(EligibilityRejected(
        screening_id=screening_id, protocol_version="1", failed_criteria=["INC-05"],
        reason="INC-05 not met"), 2))
    await deliver(store, envelope(EligibilityConfirmed(
        screening_id=screening_id, protocol_version="1"), 1))
    await deliver(store, envelope(PredictionCompleted(
        prediction_id=uuid.uuid4(), version=3, classification="not_highly_likely",
        model_version="m", protocol_version="prediction-v1")))
    await deliver(store, envelope(RandomizationInvalidated(
        randomization_number="R-1", reason="randomized twice by mistake",
        invalidated_by="dm-1", invalidated_at=AT)))
    await deliver(store, envelope(RandomizationAssigned(
        randomization_number="R-1", arm="CHEMO", stratum={"pfi": ">12"},
        randomization_date=AT.date(), scheme="blocks")))

    [screening] = store.screenings
    assert (screening.screening_id, screening.failed_criteria, screening.occurred_at) == (
        str(screening_id), ["INC-02"], AT)
    assert store.decisions["S01-0001"].decision == "rejected"  # occurred last
    assert store.predictions["S01-0001"].version == 3
    subject = store.subjects["S01-0001"]
    assert (subject.arm, subject.invalidated, subject.randomization_date) == (
        "CHEMO", True, AT.date())
    assert store.parked["S01-0001", "R-1"].applied_at is not None
