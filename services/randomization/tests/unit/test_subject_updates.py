"""What randomization learns from eligibility and prediction events, in any order (use cases on
the in-memory unit of work; docs/reliability.md, "Events that may arrive out of order").

Each story is delivered in the order it happened to one subject and reversed to another; what
randomization then knows about both must be the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from randomization_fakes import (
    SITE_USER,
    FakeRandomizationUnitOfWork,
    FakeStore,
    allocate,
    deliver,
    entries,
)
from randomization_support import confirmed, predicted, rejected, screened

from rescue_randomization.entrypoints.events import HANDLERS
from rescue_randomization.service_layer.candidates import candidate_status
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.errors import NotFound

Story = Callable[[str], list[EventEnvelope[Any]]]
VOLATILE = ("subject_id", "latest_screening_id", "first_seen_at")


async def known(store: FakeStore, subject_id: str) -> dict[str, Any]:
    view = await candidate_status(FakeRandomizationUnitOfWork(store), SITE_USER, subject_id,
                                  protocol_version="1")
    return {k: v for k, v in view.model_dump().items() if k not in VOLATILE}


async def both_orders(store: FakeStore, story: Story) -> tuple[dict[str, Any], dict[str, Any]]:
    await deliver(store, *story("S01-0901"))
    await deliver(store, *reversed(story("S01-0902")))
    return await known(store, "S01-0901"), await known(store, "S01-0902")


def confirmed_story(subject_id: str) -> list[EventEnvelope[Any]]:
    screening = screened(subject_id)
    return [screening, confirmed(screening), predicted(subject_id)]


def rejected_story(subject_id: str) -> list[EventEnvelope[Any]]:
    screening = screened(subject_id)
    return [screening, rejected(screening)]


def prediction_first_story(subject_id: str) -> list[EventEnvelope[Any]]:
    screening = screened(subject_id)
    return [screening, predicted(subject_id), confirmed(screening)]


def versions_story(subject_id: str) -> list[EventEnvelope[Any]]:
    screening = screened(subject_id)
    return [screening, confirmed(screening), predicted(subject_id, 1),
            predicted(subject_id, 2, "not_highly_likely")]


def rescreening_story(subject_id: str) -> list[EventEnvelope[Any]]:
    first = screened(subject_id)
    return [first, confirmed(first), screened(subject_id, outcome="ineligible")]


def two_decisions_story(subject_id: str) -> list[EventEnvelope[Any]]:
    screening = screened(subject_id)
    return [screening, confirmed(screening), rejected(screening)]


@pytest.mark.parametrize(("story", "expected"), [
    (confirmed_story, {"eligibility_status": "confirmed", "randomizable": True}),
    (rejected_story, {"eligibility_status": "rejected", "randomizable": False}),
    (prediction_first_story, {"prediction_version": 1, "randomizable": True}),
    (versions_story, {"prediction_version": 2,
                      "prediction_classification": "not_highly_likely"}),
    (rescreening_story, {"screening_outcome": "ineligible", "eligibility_status": "ineligible",
                         "screenings_seen": 2}),
    (two_decisions_story, {"eligibility_status": "rejected"}),
], ids=lambda v: getattr(v, "__name__", ""))
async def test_a_story_in_any_order_ends_in_the_same_state(
    story: Story, expected: dict[str, Any],
) -> None:
    store = FakeStore()
    in_order, reversed_ = await both_orders(store, story)
    assert reversed_ == in_order
    assert {k: in_order[k] for k in expected} == expected


async def test_a_decision_before_its_screening_is_parked_then_applied_once() -> None:
    store = FakeStore()
    screening = screened("S01-0001")
    await deliver(store, confirmed(screening))
    parked = await FakeRandomizationUnitOfWork(store).pending_decisions.get(
        str(screening.payload.screening_id))
    assert parked is not None and parked.decision == "confirmed" and parked.applied_at is None
    with pytest.raises(NotFound):  # nothing known about her yet but the parked decision
        await known(store, "S01-0001")

    await deliver(store, screening)

    parked = await FakeRandomizationUnitOfWork(store).pending_decisions.get(
        str(screening.payload.screening_id))
    assert parked is not None and parked.applied_at is not None
    assert (await known(store, "S01-0001"))["eligibility_status"] == "confirmed"


async def test_crossed_decisions_keep_the_most_recent() -> None:
    store = FakeStore()
    screening = screened("S01-0903")
    first, second = confirmed(screening), rejected(screening)
    await deliver(store, screening, second, first)
    assert (await known(store, "S01-0903"))["eligibility_status"] == "rejected"


async def test_a_decision_about_a_superseded_screening_never_applies() -> None:
    store = FakeStore()
    old, new = screened("S01-0001"), screened("S01-0001", outcome="incomplete")
    await deliver(store, old, new, confirmed(old))
    status = await known(store, "S01-0001")
    assert status["eligibility_status"] == "pending" and status["screenings_seen"] == 2


async def test_news_against_a_randomized_subject_becomes_a_finding_and_she_stays() -> None:
    store = FakeStore()
    first = screened("S01-0904")
    await deliver(store, first, confirmed(first), predicted("S01-0904"))
    await allocate(store, "S01-0904")
    again = screened("S01-0904")
    await deliver(store, rejected(again))  # overtook its screening: parked, no finding yet
    assert [e for e in await entries(store) if e.entry_type == "post_randomization_finding"] \
        == []

    await deliver(store, again, predicted("S01-0904", 2, "not_highly_likely"))

    findings = [e for e in await entries(store) if e.entry_type == "post_randomization_finding"]
    assert [f.details["event_type"] for f in findings] == [
        "eligibility.rejected", "prediction.completed"]
    assert findings[0].actor == "event:eligibility" and findings[1].actor == "event:prediction"
    allocation = await FakeRandomizationUnitOfWork(store).allocations.of_subject("S01-0904")
    assert allocation is not None and allocation.invalidated_at is None


async def test_an_older_prediction_version_changes_nothing() -> None:
    store = FakeStore()
    screening = screened("S01-0001")
    await deliver(store, screening, predicted("S01-0001", 3), predicted("S01-0001", 2,
                                                                         "not_highly_likely"))
    status = await known(store, "S01-0001")
    assert (status["prediction_version"], status["prediction_classification"]) == (
        3, "highly_likely_complete_resection")


async def test_every_event_locks_the_audit_head_first() -> None:
    store = FakeStore()
    screening = screened("S01-0001")
    for event in (screening, confirmed(screening), predicted("S01-0001")):
        uow = FakeRandomizationUnitOfWork(store)
        await HANDLERS[type(event.payload)](uow, event)
        await uow.commit()
        assert uow.journal[0] == "audit.lock_head" and len(uow.journal) > 1
