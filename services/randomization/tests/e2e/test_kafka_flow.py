"""Through a real broker: eligibility and prediction events make a subject randomizable, the
allocation is announced on the randomization topic, and duplicates change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from randomization_support import MONITOR, SITE_USER, confirmed, predicted, screened
from sqlmodel import select

from rescue_randomization.adapters.tables import Allocation
from rescue_randomization.app import DEFINITION
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.testing import (
    RunningService,
    eventually,
    published_events,
    run_service,
    settings_for,
)

pytestmark = pytest.mark.e2e
TOPICS = {"eligibility": "rescue.eligibility.v1", "prediction": "rescue.prediction.v1"}


@pytest.fixture
async def randomization_on_kafka(
    database_url: str, kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[RunningService]:
    settings = settings_for(RandomizationSettings, database_url=database_url,
                            kafka_bootstrap_servers=kafka_bootstrap,
                            kafka_topic_namespace=topic_namespace)
    async with run_service(DEFINITION, settings) as service:
        yield service


async def publish(service: RunningService, *events: EventEnvelope[Any]) -> None:
    """Publish as the other services do: the envelope as JSON, keyed by subject."""
    producer = AIOKafkaProducer(bootstrap_servers=service.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for event in events:
            family = event.event_type.split(".")[0]
            await producer.send_and_wait(service.settings.topic(TOPICS[family]),
                                         event.model_dump_json().encode(),
                                         key=event.subject_id.encode())
    finally:
        await producer.stop()


async def randomization_topic(service: RunningService) -> list[EventEnvelope[Any]]:
    """Every event on the randomization topic once the service's outbox has drained."""
    return await published_events(service, "rescue.randomization.v1")


async def duplicates(service: RunningService) -> float:
    text = (await service.client.get("/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("events_consumed_total{") and 'outcome="duplicate"' in line)


async def test_confirmed_and_predicted_subject_is_randomized_and_announced_once(
    randomization_on_kafka: RunningService,
) -> None:
    service = randomization_on_kafka
    screening = screened("S01-0100", platinum_free_interval_months=7.0)
    confirmation, prediction = confirmed(screening), predicted("S01-0100")
    refused = await service.client.post("/v1/randomizations", headers=SITE_USER, json={
        "subject_id": "S01-0100", "consent_confirmed": True, "planned_maintenance": "none"})
    assert refused.json()["missing"] == ["screened"]

    await publish(service, screening, confirmation, prediction)

    async def randomizable() -> dict[str, Any] | None:
        response = await service.client.get("/v1/candidates/S01-0100", headers=SITE_USER)
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body["randomizable"] else None

    candidate = await eventually(randomizable, description="subject randomizable")
    assert candidate["eligibility_status"] == "confirmed" and candidate["screenings_seen"] == 1
    response = await service.client.post("/v1/randomizations", headers=SITE_USER, json={
        "subject_id": "S01-0100", "consent_confirmed": True,
        "planned_maintenance": "bevacizumab"})
    assert response.status_code == 201, response.text
    allocation = response.json()

    [event] = await randomization_topic(service)
    assert event.event_type == "randomization.assigned" and event.subject_id == "S01-0100"
    assert event.site_id == "S01" and event.producer == "randomization"
    assert json.loads(event.payload.model_dump_json()) == {
        "randomization_number": allocation["randomization_number"], "arm": allocation["arm"],
        "stratum": {"site": "S01", "pfi": "6-12", "maintenance": "bevacizumab"},
        "randomization_date": allocation["randomization_date"], "scheme": "permuted_blocks"}

    await publish(service, screening, confirmation, prediction)  # redelivered as-is

    async def all_three_skipped() -> bool:
        return await duplicates(service) == 3

    await eventually(all_three_skipped, description="duplicates skipped")
    after = (await service.client.get("/v1/candidates/S01-0100", headers=SITE_USER)).json()
    assert after == {**candidate, "randomized": True, "randomizable": False}
    assert [e.event_type for e in await randomization_topic(service)] == [
        "randomization.assigned"]
    async with service.app.state.database.session() as session:
        assert len((await session.exec(select(Allocation))).all()) == 1
    audit = (await service.client.get("/v1/audit", headers=MONITOR)).json()
    assert [e["type"] for e in audit["entries"]] == ["trial_set_up", "refusal", "allocation"]
