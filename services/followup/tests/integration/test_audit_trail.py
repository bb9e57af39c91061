"""Follow-up's audit trail through its API on both engines: subjects registered and allocations
invalidated by the consumer, what other services announced, assessments and their corrections
(the superseded record as before, the correction as after, and why), ADTTE downloads; a failed
request leaves no entry; tampering and truncation are found."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from audit_checks import (
    as_user,
    assert_linked,
    assert_only_monitors_and_admins_read,
    assert_tampering_and_truncation_are_found,
    audit,
    entries,
    verify,
)

from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    PredictionCompleted,
    SubjectScreened,
)
from rescue_shared.testing import RunningService

pytestmark = pytest.mark.integration
TODAY = dt.date.today()
RANDOMIZED = TODAY - dt.timedelta(days=400)
NURSE = as_user("nurse-7", "S01", "site_user")
REASON = "sum mistyped (55 not 70)"


def day(offset: int) -> str:
    return (RANDOMIZED + dt.timedelta(days=offset)).isoformat()


def recist(offset: int, total: float, **extra: Any) -> dict[str, Any]:
    return {"type": "recist", "date": day(offset), "target_lesion_sum_mm": total,
            "new_lesions": False, "non_target_progression": False, **extra}


async def assess(service: RunningService, subject_id: str, body: dict[str, Any]) -> Any:
    return await service.client.post(f"/v1/subjects/{subject_id}/assessments", json=body,
                                     headers=NURSE)


async def test_every_change_is_an_entry_with_before_and_after(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    invalidate: Callable[..., Awaitable[None]], announce: Callable[..., Awaitable[None]],
) -> None:
    await announce(SubjectScreened(
        screening_id=uuid.uuid4(), screening_date=RANDOMIZED, protocol_version="1",
        outcome="eligible", awaiting_prediction=True), "S01-0001")
    await announce(PredictionCompleted(
        prediction_id=uuid.uuid4(), version=1, classification="highly_likely_complete_resection",
        model_version="m1", protocol_version="1"), "S01-0001", producer="prediction")
    await announce(EligibilityConfirmed(screening_id=uuid.uuid4(), protocol_version="1"),
                   "S01-0001")
    assigned = await register("S01-0001", randomized=RANDOMIZED)
    baseline = await assess(followup, "S01-0001", recist(30, 50.0))
    wrong = await assess(followup, "S01-0001", recist(180, 70.0))
    assert baseline.status_code == wrong.status_code == 201
    corrected = await assess(followup, "S01-0001", recist(
        180, 55.0, supersedes=wrong.json()["assessment_id"], correction_reason=REASON))
    assert corrected.status_code == 201, corrected.text
    await invalidate("S01-0001")
    export = await followup.client.get("/v1/exports/adtte.csv",
                                       headers=as_user("stat-1", None, "statistician"))
    assert export.status_code == 200

    trail = await entries(followup)
    assert [e["action"] for e in trail] == [
        "screening.applied", "prediction.applied", "eligibility_decision.applied",
        "subject.registered", "assessment.recorded", "assessment.recorded",
        "assessment.corrected", "allocation.invalidated", "export.downloaded"]
    assert_linked(trail)
    consumed = [*trail[:4], trail[7]]
    assert all(e["actor"] == "system:consumer" and e["event_id"] for e in consumed)
    registered = trail[3]
    assert registered["event_id"] == str(assigned.event_id)
    assert registered["before"] is None and registered["after"]["arm"] == "SCS_CHEMO"
    recorded, correction = trail[5], trail[6]
    assert recorded["actor"] == "nurse-7" and recorded["before"] is None
    assert recorded["after"]["data"]["target_lesion_sum_mm"] == 70.0
    assert correction["reason"] == REASON and correction["actor"] == "nurse-7"
    assert correction["before"] == recorded["after"]
    assert correction["after"]["data"]["target_lesion_sum_mm"] == 55.0
    assert correction["after"]["supersedes"] == wrong.json()["assessment_id"]
    invalidated = trail[7]
    assert invalidated["before"]["invalidated"] is False
    assert invalidated["after"]["invalidated"] is True
    assert invalidated["reason"] == "randomized twice by mistake"
    assert trail[8]["actor"] == "stat-1" and trail[8]["site_id"] is None
    assert trail[8]["after"] == {"export": "adtte.csv", "rows": 1, "scope_site_id": None,
                                 "cutoff": None, "strata": "randomized"}
    assert (await verify(followup))["valid"] is True


async def test_a_parked_invalidation_is_recorded(
    followup: RunningService, invalidate: Callable[..., Awaitable[None]],
) -> None:
    await invalidate("S01-0002")
    parked = (await audit(followup, subject_id="S01-0002"))["entries"]
    assert [e["action"] for e in parked] == ["invalidation.parked"]
    assert parked[0]["after"]["reason"] == "randomized twice by mistake"


async def test_a_failed_request_leaves_no_entry(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0003", randomized=RANDOMIZED)
    assert (await assess(followup, "S01-0003", recist(30, 50.0))).status_code == 201
    total = (await audit(followup))["total"]
    assert (await assess(followup, "S01-0003", recist(30, 51.0))).status_code == 409
    assert (await assess(followup, "S01-0003", recist(-30, 51.0))).status_code == 422
    other_site = await followup.client.post(
        "/v1/subjects/S01-0003/assessments", json=recist(60, 50.0),
        headers=as_user("nurse-9", "S02", "site_user"))
    assert other_site.status_code == 404
    assert (await audit(followup))["total"] == total


async def test_roles_paging_tampering_and_truncation(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
) -> None:
    for n in range(1, 4):
        await register(f"S01-000{n}", randomized=RANDOMIZED)
    assert (await assess(followup, "S01-0002", recist(30, 50.0))).status_code == 201
    mine = await audit(followup, subject_id="S01-0002", limit=1)
    assert [e["action"] for e in mine["entries"]] == ["subject.registered"]
    rest = await audit(followup, subject_id="S01-0002", after=mine["next_after"])
    assert [e["action"] for e in rest["entries"]] == ["assessment.recorded"]
    await assert_only_monitors_and_admins_read(followup, "S01")
    await assert_tampering_and_truncation_are_found(followup)
