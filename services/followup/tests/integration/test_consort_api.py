"""The CONSORT flow from every service's events and follow-up's records (JSON and SVG)."""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    SubjectScreened,
)
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
TODAY = dt.date.today()


def screened(outcome: str, failed: list[str] | None = None) -> SubjectScreened:
    return SubjectScreened(screening_id=uuid.uuid4(), screening_date=TODAY, protocol_version="1",
                           outcome=outcome, awaiting_prediction=outcome == "eligible",  # type: ignore[arg-type]
                           failed_criteria=failed or [])


def predicted(version: int, classification: str) -> PredictionCompleted:
    return PredictionCompleted(prediction_id=uuid.uuid4(), version=version,
                               classification=classification,  # type: ignore[arg-type]
                               model_version="m1", protocol_version="1")


async def test_the_flow_counts_every_box_from_screening_to_analysis(
    followup: RunningService, announce: Callable[..., Awaitable[Any]],
    register: Callable[..., Awaitable[Any]], record: Callable[..., Awaitable[Any]],
    invalidate: Callable[..., Awaitable[Any]],
) -> None:
    async def screen(subject_id: str, outcome: str, failed: list[str] | None = None,
                     site: str = "S01") -> None:
        await announce(screened(outcome, failed), subject_id, site)

    await screen("S01-0001", "ineligible", ["INC-02", "EXC-03"])
    await screen("S01-0002", "ineligible", ["INC-02"])
    await screen("S01-0002", "eligible")  # re-screened: the latest counts
    await announce(predicted(1, "highly_likely_complete_resection"), "S01-0002",
                   producer="prediction")
    await announce(predicted(2, "not_highly_likely"), "S01-0002", producer="prediction")
    await announce(predicted(1, "highly_likely_complete_resection"), "S01-0002",
                   producer="prediction")  # an older version arriving late
    await announce(EligibilityRejected(
        screening_id=uuid.uuid4(), protocol_version="1", failed_criteria=["INC-05"],
        reason="complete resection not highly likely"), "S01-0002")
    await screen("S01-0003", "incomplete")
    await screen("S02-0004", "eligible", site="S02")
    await announce(EligibilityConfirmed(screening_id=uuid.uuid4(), protocol_version="1"),
                   "S02-0004", "S02")  # eligible, not randomized
    for n, arm in ((5, "SCS_CHEMO"), (6, "SCS_CHEMO"), (7, "CHEMO"), (8, "CHEMO")):
        subject_id = f"S01-000{n}"
        await screen(subject_id, "eligible")
        await announce(predicted(1, "highly_likely_complete_resection"), subject_id,
                       producer="prediction")
        await announce(EligibilityConfirmed(screening_id=uuid.uuid4(), protocol_version="1"),
                       subject_id)
        await register(subject_id, arm=arm, randomized=TODAY - dt.timedelta(days=60))
    surgery = {"type": "surgery", "date": (TODAY - dt.timedelta(days=50)).isoformat(),
               "complete_resection": False, "residual_disease": "<1cm"}
    assert (await record("S01-0005", surgery)).status_code == 201
    assert (await record("S01-0008", surgery)).status_code == 201  # crossed over to surgery
    assert (await record("S01-0006", {"type": "lost_to_followup", "last_contact_date": (
        TODAY - dt.timedelta(days=30)).isoformat()})).status_code == 201
    assert (await record("S01-0007", {"type": "withdrawal", "date": (
        TODAY - dt.timedelta(days=10)).isoformat(), "reason": "moved abroad"})).status_code == 201
    await invalidate("S01-0007")

    flow = (await followup.client.get("/v1/consort", headers=auth(None, "monitor"))).json()
    assert (flow["screened_subjects"], flow["screenings"]) == (8, 9)
    assert flow["latest_outcome_by_subject"] == {"eligible": 6, "incomplete": 1, "ineligible": 1}
    assert flow["enrollment"] == {
        "assessed_for_eligibility": 8,
        "excluded": {"total": 3, "not_meeting_inclusion_criteria": 2,
                     "by_criterion": {"EXC-03": 1, "INC-02": 1, "INC-05": 1},
                     "eligible_not_randomized": 1},
        "awaiting_eligibility_decision": 1, "predicted": 5,
        "predicted_by_classification": {"highly_likely_complete_resection": 4,
                                        "not_highly_likely": 1},
        "randomized": 4}
    scs, chemo = flow["allocation"]
    assert scs == {"arm": "SCS_CHEMO", "allocated": 2, "received_allocated_intervention": 1,
                   "did_not_receive_allocated_intervention": 1, "lost_to_follow_up": 1,
                   "withdrawn": 0, "invalidated": 0, "analysed": 2, "excluded_from_analysis": 0}
    assert chemo == {"arm": "CHEMO", "allocated": 2, "received_allocated_intervention": 1,
                     "did_not_receive_allocated_intervention": 1, "lost_to_follow_up": 0,
                     "withdrawn": 1, "invalidated": 1, "analysed": 2,
                     "excluded_from_analysis": 0}
    strict = (await followup.client.get("/v1/consort?population=excluding_invalidated",
                                        headers=auth(None, "statistician"))).json()
    assert (strict["allocation"][1]["analysed"],
            strict["allocation"][1]["excluded_from_analysis"]) == (1, 1)

    svg = await followup.client.get("/v1/consort.svg", headers=auth(None, "statistician"))
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    texts = [t.text for t in ET.fromstring(svg.text).iter("{http://www.w3.org/2000/svg}text")]
    for expected in ("Assessed for eligibility (n=8)", "Excluded (n=3)", "INC-05 (n=1)",
                     "Randomized (n=4)", "Allocated to SCS_CHEMO (n=2)",
                     "Lost to follow-up (n=1)", "Withdrew from follow-up (n=1)",
                     "Analysed (n=2)"):
        assert expected in texts, expected

    # An investigator sees her own site's flow; site users do not see the CONSORT flow.
    own = (await followup.client.get("/v1/consort", headers=auth("S02", "investigator"))).json()
    assert (own["screened_subjects"], own["enrollment"]["randomized"]) == (1, 0)
    assert own["enrollment"]["excluded"]["eligible_not_randomized"] == 1
    assert (await followup.client.get("/v1/consort", headers=auth("S01", "site_user"))
            ).status_code == 403
