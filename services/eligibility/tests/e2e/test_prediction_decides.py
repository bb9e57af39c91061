"""A prediction event makes a pending screening final, exactly once, through real Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from harness import ELIGIBLE_FACTS, SITE_USER

from rescue_eligibility.adapters.tables import EligibilitySubject
from rescue_eligibility.app import DEFINITION
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.contracts import new_event
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import PredictionCompleted
from rescue_shared.testing import (
    RunningService,
    eventually,
    published_events,
    run_service,
    settings_for,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def eligibility(
    database_url: str, kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[RunningService]:
    settings = settings_for(EligibilitySettings, database_url=database_url,
                            kafka_bootstrap_servers=kafka_bootstrap,
                            kafka_topic_namespace=topic_namespace)
    async with run_service(DEFINITION, settings) as service:
        yield service


def prediction(subject_id: str, version: int, classification: str) -> EventEnvelope[Any]:
    return new_event(
        PredictionCompleted(prediction_id=uuid.uuid4(), version=version,
                            classification=classification,
                            kelim=0.05, kelim_standardized=1.35, kelim_source="local_estimate",
                            model_version="test", protocol_version="prediction-v1"),
        producer="prediction", trial_id="NCT07295132", site_id="S01", subject_id=subject_id,
        correlation_id="flow-1")


async def deliver(service: RunningService, *events: EventEnvelope[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=service.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                service.settings.topic("rescue.prediction.v1"),
                event.model_dump_json().encode(), key=event.subject_id.encode())
    finally:
        await producer.stop()


async def emitted(service: RunningService, subject_id: str) -> list[str]:
    """Event types the service published for the subject (after its outbox has drained)."""
    events = await published_events(service, "rescue.eligibility.v1")
    return [e.event_type for e in events if e.subject_id == subject_id]


async def screen(service: RunningService, subject_id: str) -> str:
    response = await service.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": subject_id, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    assert response.json()["final_decision"] == "pending"
    return str(response.json()["screening_id"])


async def final_decision(service: RunningService, screening_id: str) -> str:
    response = await service.client.get(f"/v1/screenings/{screening_id}", headers=SITE_USER)
    return str(response.json()["final_decision"])


async def test_a_favourable_prediction_confirms_once_even_when_delivered_twice(
    eligibility: RunningService,
) -> None:
    screening_id = await screen(eligibility, "S01-0100")
    favourable = prediction("S01-0100", 1, "highly_likely_complete_resection")
    await deliver(eligibility, favourable, favourable)

    await eventually(lambda: duplicates_seen_by(eligibility))
    assert await final_decision(eligibility, screening_id) == "eligible"
    assert await emitted(eligibility, "S01-0100") == [
        "eligibility.screened", "eligibility.confirmed"]
    body = (await eligibility.client.get(f"/v1/screenings/{screening_id}",
                                         headers=SITE_USER)).json()
    inc05 = next(c for c in body["criteria"] if c["id"] == "INC-05")
    assert inc05["result"] == "met"


async def duplicates_seen_by(service: RunningService) -> bool:
    metrics = (await service.client.get("/metrics")).text
    return 'outcome="duplicate"} 1.0' in metrics


async def test_a_newer_unfavourable_prediction_rejects_and_a_stale_one_is_ignored(
    eligibility: RunningService,
) -> None:
    screening_id = await screen(eligibility, "S01-0101")
    await deliver(eligibility, prediction("S01-0101", 1, "insufficient_data"),
                  prediction("S01-0101", 3, "not_highly_likely"),
                  prediction("S01-0101", 2, "highly_likely_complete_resection"))

    async def rejected() -> bool:
        return await final_decision(eligibility, screening_id) == "ineligible"

    await eventually(rejected)
    assert await emitted(eligibility, "S01-0101") == [
        "eligibility.screened", "eligibility.rejected"]
    history = (await eligibility.client.get("/v1/subjects/S01-0101/screenings",
                                            headers=SITE_USER)).json()
    assert history[-1]["failed_criteria"] == ["INC-05"]
    assert history[-1]["prediction_classification"] == "not_highly_likely"


async def test_a_rescreening_after_the_prediction_is_decided_at_once(
    eligibility: RunningService,
) -> None:
    await screen(eligibility, "S01-0102")
    await deliver(eligibility, prediction("S01-0102", 1, "highly_likely_complete_resection"))
    await eventually(lambda: _decided(eligibility, "S01-0102"))
    response = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": "S01-0102", "screening_date": "2026-03-09", "facts": ELIGIBLE_FACTS})
    assert response.json()["final_decision"] == "eligible"
    assert await emitted(eligibility, "S01-0102") == [
        "eligibility.screened", "eligibility.confirmed",
        "eligibility.screened", "eligibility.confirmed"]


async def _decided(service: RunningService, subject_id: str) -> bool:
    history = (await service.client.get(f"/v1/subjects/{subject_id}/screenings",
                                        headers=SITE_USER)).json()
    return bool(history[-1]["final_decision"] == "eligible")


async def test_a_prediction_before_any_screening_decides_her_first_screening_at_once(
    eligibility: RunningService,
) -> None:
    """Reverse order (prediction, then screening) ends as the normal order does: the screening
    is eligible, confirmed once, with the prediction's classification."""
    await deliver(eligibility, prediction("S01-0104", 1, "highly_likely_complete_resection"))

    async def stored() -> bool:
        async with eligibility.app.state.database.session() as session:
            subject = await session.get(EligibilitySubject, "S01-0104")
        return subject is not None and subject.prediction_version == 1

    await eventually(stored, description="prediction stored before any screening")
    response = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": "S01-0104", "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["final_decision"] == "eligible" and body["decided_at"] is not None
    assert body["prediction_classification"] == "highly_likely_complete_resection"
    assert await emitted(eligibility, "S01-0104") == [
        "eligibility.screened", "eligibility.confirmed"]
