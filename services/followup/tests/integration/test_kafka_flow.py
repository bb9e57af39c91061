"""Through a real broker: allocations in, assessments over HTTP, PFS and the analysis out.

Ten subjects are allocated by publishing randomization.assigned envelopes on the randomization
topic (as the randomization service would); one is delivered twice and another allocation is
republished with a new event id: each subject is registered once. Their PFS and the primary
analysis are checked against lifelines called directly on the expected times, and the
progressions follow-up announces reach the followup topic once per subject.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from survival_check import assert_matches_lifelines

from rescue_followup.app import DEFINITION
from rescue_followup.settings import FollowupSettings
from rescue_shared.contracts import new_event
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import RandomizationAssigned, RandomizationInvalidated
from rescue_shared.testing import RunningService, auth, eventually, run_service, settings_for

pytestmark = pytest.mark.integration
TODAY = dt.date.today()
STATISTICIAN = auth(None, "statistician")

# subject index: (arm, kelim stratum, outcome, day of the event or of the last assessment)
PLAN: list[tuple[str, str, str, int]] = [
    ("SCS_CHEMO", "favourable", "recist", 360), ("CHEMO", "favourable", "recist", 180),
    ("SCS_CHEMO", "unfavourable", "censored", 450), ("CHEMO", "unfavourable", "recist", 90),
    ("SCS_CHEMO", "favourable", "death", 200), ("CHEMO", "favourable", "recist", 270),
    ("SCS_CHEMO", "unfavourable", "recist", 270), ("CHEMO", "unfavourable", "censored", 360),
    ("SCS_CHEMO", "favourable", "censored", 180), ("CHEMO", "unfavourable", "death", 100),
]


def subject_id(i: int) -> str:
    return f"S0{1 + i % 2}-{i:04d}"


def randomized(i: int) -> dt.date:
    return TODAY - dt.timedelta(days=500 - 7 * i)


def allocation(i: int) -> EventEnvelope[Any]:
    arm, kelim, _, _ = PLAN[i]
    return new_event(
        RandomizationAssigned(randomization_number=f"R-{i:04d}", arm=arm,  # type: ignore[arg-type]
                              stratum={"kelim": kelim}, randomization_date=randomized(i),
                              scheme="stratified-permuted-blocks"),
        producer="randomization", trial_id="NCT07295132", site_id=subject_id(i)[:3],
        subject_id=subject_id(i), correlation_id=str(uuid.uuid4()))


def bodies(i: int) -> list[dict[str, Any]]:
    """Baseline 50 mm, then every 90 days: stable until the planned event or last visit."""
    _, _, outcome, last = PLAN[i]
    start = randomized(i)
    records = []
    for day in range(0, last + 1, 90):
        progressed = outcome == "recist" and day == last
        if outcome == "death" and day >= last:
            break
        records.append({"type": "recist", "date": (start + dt.timedelta(days=day)).isoformat(),
                        "target_lesion_sum_mm": 80.0 if progressed else 50.0,
                        "new_lesions": False, "non_target_progression": False})
    if outcome == "death":
        records.append({"type": "death", "date": (start + dt.timedelta(days=last)).isoformat(),
                        "cause": "cardiac arrest"})
    return records


@pytest.fixture
async def followup(
    database_url: str, kafka_bootstrap: str, topic_namespace: str,
) -> AsyncIterator[RunningService]:
    settings = settings_for(FollowupSettings, database_url=database_url,
                            kafka_bootstrap_servers=kafka_bootstrap,
                            kafka_topic_namespace=topic_namespace)
    async with run_service(DEFINITION, settings) as service:
        yield service


async def consumed(service: RunningService, outcome: str) -> float:
    text = (await service.client.get("/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("events_consumed_total{")
               and 'event_type="randomization.assigned"' in line and f'"{outcome}"' in line)


async def announced_progressions(bootstrap: str, topic: str, expected: int) -> list[Any]:
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    await reader.start()
    events: list[Any] = []
    try:
        async def enough() -> bool:
            for batch in (await reader.getmany(timeout_ms=200)).values():
                events.extend(json.loads(r.value) for r in batch)
            return len(events) >= expected

        await eventually(enough, timeout=60, description=f"{expected} followup events")
        # Anything more already on the topic would be a duplicate: read what is there.
        for batch in (await reader.getmany(timeout_ms=500)).values():
            events.extend(json.loads(r.value) for r in batch)
    finally:
        await reader.stop()
    return events


async def test_allocations_through_kafka_give_pfs_and_an_analysis_matching_lifelines(
    followup: RunningService, kafka_bootstrap: str, topic_namespace: str,
) -> None:
    envelopes = [allocation(i) for i in range(len(PLAN))]
    republished = allocation(1)  # the same allocation again, under a new event id
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        topic = f"{topic_namespace}rescue.randomization.v1"
        for event in [*envelopes, envelopes[0], republished]:
            await producer.send_and_wait(topic, event.model_dump_json().encode(),
                                         key=event.subject_id.encode())
    finally:
        await producer.stop()

    async def all_registered() -> bool:
        for i in range(len(PLAN)):
            response = await followup.client.get(f"/v1/subjects/{subject_id(i)}",
                                                 headers=STATISTICIAN)
            assert response.status_code == 200, subject_id(i)
        return True

    await eventually(all_registered, description="ten subjects registered")
    await eventually(lambda: consumed(followup, "duplicate"), description="duplicate seen")
    await eventually(lambda: _equals(consumed(followup, "applied"), 11.0),
                     description="the republished allocation handled")
    registered = (await followup.client.get(f"/v1/subjects/{subject_id(1)}",
                                            headers=STATISTICIAN)).json()
    assert registered["randomization_number"] == "R-0001"
    assert registered["stratum"] == {"kelim": "favourable"}
    for i in (0, 1):
        visits = (await followup.client.get(f"/v1/subjects/{subject_id(i)}/visits",
                                            headers=STATISTICIAN)).json()["visits"]
        assert [v["number"] for v in visits] == list(range(1, 15))  # one schedule, not two

    for i in range(len(PLAN)):
        for body in bodies(i):
            response = await followup.client.post(
                f"/v1/subjects/{subject_id(i)}/assessments", json=body,
                headers=auth(subject_id(i)[:3], "site_user"))
            assert response.status_code == 201, response.text

    durations = [last + 1 for _, _, _, last in PLAN]
    observed = [int(outcome != "censored") for _, _, outcome, _ in PLAN]
    for i, (_, _, outcome, last) in enumerate(PLAN):
        pfs = (await followup.client.get(f"/v1/subjects/{subject_id(i)}/pfs",
                                         headers=STATISTICIAN)).json()
        assert (pfs["event"], pfs["days"]) == (bool(observed[i]), durations[i])
        assert pfs["event_type"] == {"recist": "progression_recist", "death": "death",
                                     "censored": None}[outcome]
        assert pfs["end_date"] == (randomized(i) + dt.timedelta(days=last)).isoformat()

    analysis = (await followup.client.get("/v1/analysis/pfs", headers=STATISTICIAN)).json()
    assert_matches_lifelines(analysis, durations, observed, [arm for arm, _, _, _ in PLAN])

    events = await announced_progressions(
        kafka_bootstrap, f"{topic_namespace}rescue.followup.v1", sum(observed))
    announced = {e["subject_id"]: e["payload"] for e in events}
    assert len(events) == len(announced) == sum(observed)  # once per subject
    assert announced == {
        subject_id(i): {"event_date": (randomized(i) + dt.timedelta(days=last)).isoformat(),
                        "event_kind": "death" if outcome == "death" else "progression_recist",
                        "randomization_date": randomized(i).isoformat(),
                        "pfs_days": last + 1}
        for i, (_, _, outcome, last) in enumerate(PLAN) if outcome != "censored"}


async def _equals(value: Any, expected: float) -> bool:
    return await value == expected


async def test_an_invalidation_published_before_its_allocation_is_applied_when_it_arrives(
    followup: RunningService, kafka_bootstrap: str, topic_namespace: str,
) -> None:
    """Reverse order through the broker (a replayed allocation arriving after its
    invalidation): the subject ends invalidated, as in the normal order."""
    assigned = allocation(0)
    invalidated = new_event(
        RandomizationInvalidated(randomization_number="R-0000",
                                 reason="consent form was unsigned", invalidated_by="inv-1",
                                 invalidated_at=dt.datetime.now(dt.UTC)),
        producer="randomization", trial_id="NCT07295132", site_id=assigned.site_id,
        subject_id=assigned.subject_id, correlation_id=str(uuid.uuid4()))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for event in (invalidated, assigned):
            await producer.send_and_wait(f"{topic_namespace}rescue.randomization.v1",
                                         event.model_dump_json().encode(),
                                         key=event.subject_id.encode())
    finally:
        await producer.stop()

    async def flagged() -> bool:
        response = await followup.client.get(f"/v1/subjects/{assigned.subject_id}",
                                             headers=STATISTICIAN)
        return response.status_code == 200 and bool(response.json()["invalidated"])

    await eventually(flagged, description="parked invalidation applied")
    subject = (await followup.client.get(f"/v1/subjects/{assigned.subject_id}",
                                         headers=STATISTICIAN)).json()
    assert subject["invalidation_reason"] == "consent form was unsigned"
