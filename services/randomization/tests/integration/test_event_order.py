"""Eligibility and prediction events in any order end in the same state (both engines).

A replayed or dead-letter-replayed event may overtake another of the same subject. Each case
delivers the events in the order they happened and, to a second subject, in reverse order, and
compares what randomization then knows about each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from randomization_support import (
    SITE_USER,
    audit_entries,
    confirmed,
    predicted,
    rejected,
    screened,
)
from sqlmodel import select

from rescue_randomization.adapters.tables import PendingDecision
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.testing import RunningService

pytestmark = pytest.mark.integration
Deliver = Callable[..., Awaitable[None]]
Randomize = Callable[..., Awaitable[Any]]
VOLATILE = ("subject_id", "latest_screening_id", "first_seen_at")


async def candidate(service: RunningService, subject_id: str) -> dict[str, Any]:
    response = await service.client.get(f"/v1/candidates/{subject_id}", headers=SITE_USER)
    assert response.status_code == 200, response.text
    return {k: v for k, v in response.json().items() if k not in VOLATILE}


async def both_orders(
    service: RunningService, deliver: Deliver,
    story: Callable[[str], list[EventEnvelope[Any]]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The candidate after the story in its own order, and (another subject) reversed."""
    await deliver(*story("S01-0901"))
    await deliver(*reversed(story("S01-0902")))
    return await candidate(service, "S01-0901"), await candidate(service, "S01-0902")


async def test_a_confirmation_before_its_screening_is_parked_then_applied(
    randomization: RunningService, deliver: Deliver, randomize: Randomize,
) -> None:
    def story(subject_id: str) -> list[EventEnvelope[Any]]:
        screening = screened(subject_id)
        return [screening, confirmed(screening), predicted(subject_id)]

    in_order, reversed_ = await both_orders(randomization, deliver, story)

    assert reversed_ == in_order
    assert in_order["eligibility_status"] == "confirmed" and in_order["randomizable"] is True
    assert (await randomize("S01-0902")).status_code == 201
    async with randomization.app.state.database.session() as session:
        parked = (await session.exec(select(PendingDecision))).all()
    assert [(p.subject_id, p.decision, p.applied_at is not None) for p in parked] == [
        ("S01-0902", "confirmed", True)]


async def test_a_rejection_before_its_screening_is_parked_then_applied(
    randomization: RunningService, deliver: Deliver,
) -> None:
    def story(subject_id: str) -> list[EventEnvelope[Any]]:
        screening = screened(subject_id)
        return [screening, rejected(screening)]

    in_order, reversed_ = await both_orders(randomization, deliver, story)

    assert reversed_ == in_order
    assert in_order["eligibility_status"] == "rejected" and in_order["randomizable"] is False
    assert {c["condition"] for c in in_order["unmet_conditions"]} >= {"eligibility_confirmed"}


async def test_a_prediction_before_any_screening_commutes(
    randomization: RunningService, deliver: Deliver, randomize: Randomize,
) -> None:
    def story(subject_id: str) -> list[EventEnvelope[Any]]:
        screening = screened(subject_id)
        return [screening, predicted(subject_id), confirmed(screening)]

    in_order, reversed_ = await both_orders(randomization, deliver, story)

    assert reversed_ == in_order
    assert in_order["prediction_version"] == 1 and in_order["randomizable"] is True
    assert (await randomize("S01-0902")).status_code == 201


async def test_predictions_versions_in_any_order_keep_the_highest(
    randomization: RunningService, deliver: Deliver,
) -> None:
    def story(subject_id: str) -> list[EventEnvelope[Any]]:
        screening = screened(subject_id)
        return [screening, confirmed(screening), predicted(subject_id, 1),
                predicted(subject_id, 2, "not_highly_likely")]

    in_order, reversed_ = await both_orders(randomization, deliver, story)

    assert reversed_ == in_order
    assert (in_order["prediction_version"], in_order["prediction_classification"]) == (
        2, "not_highly_likely")


async def test_a_rescreening_overtaken_by_the_first_screening_still_counts_as_latest(
    randomization: RunningService, deliver: Deliver,
) -> None:
    """First screening confirmed, then re-screened ineligible: reversed, the first screening
    and its confirmation arrive last and must not bring the confirmation back."""
    def story(subject_id: str) -> list[EventEnvelope[Any]]:
        first = screened(subject_id)
        return [first, confirmed(first), screened(subject_id, outcome="ineligible")]

    in_order, reversed_ = await both_orders(randomization, deliver, story)

    assert reversed_ == in_order
    assert in_order["screening_outcome"] == "ineligible"
    assert in_order["eligibility_status"] == "ineligible" and in_order["screenings_seen"] == 2


async def test_two_decisions_on_one_screening_in_any_order_keep_the_most_recent(
    randomization: RunningService, deliver: Deliver,
) -> None:
    """Confirmed, then rejected after a newer prediction: the rejection stands either way,
    whether the screening came first or last."""
    def story(subject_id: str) -> list[EventEnvelope[Any]]:
        screening = screened(subject_id)
        return [screening, confirmed(screening), rejected(screening)]

    in_order, reversed_ = await both_orders(randomization, deliver, story)
    assert reversed_ == in_order and in_order["eligibility_status"] == "rejected"

    screening = screened("S01-0903")
    first, second = confirmed(screening), rejected(screening)
    await deliver(screening, second, first)  # screening first, decisions crossed
    assert (await candidate(randomization, "S01-0903"))["eligibility_status"] == "rejected"


async def test_a_parked_rejection_of_a_randomized_subject_is_an_audit_finding(
    randomization: RunningService, deliver: Deliver, randomize: Randomize,
) -> None:
    first = screened("S01-0904")
    await deliver(first, confirmed(first), predicted("S01-0904"))
    assert (await randomize("S01-0904")).status_code == 201
    again = screened("S01-0904")
    await deliver(rejected(again))  # overtook its screening
    findings = [e for e in await audit_entries(randomization)
                if e["type"] == "post_randomization_finding"]
    assert findings == []  # parked: not about her latest screening yet

    await deliver(again)

    findings = [e["details"]["event_type"] for e in await audit_entries(randomization)
                if e["type"] == "post_randomization_finding"]
    assert findings == ["eligibility.rejected"]
