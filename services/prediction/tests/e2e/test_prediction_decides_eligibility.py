"""Through real Kafka: screening → CA-125 series → prediction.completed → eligibility decides,
and a superseding prediction version is applied by eligibility as the latest; values that reach
prediction before the screening are used when it arrives (or quarantined, from another site)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from harness import ELIGIBLE_FACTS, SITE_USER

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_eligibility.settings import EligibilitySettings
from rescue_prediction.app import DEFINITION as PREDICTION
from rescue_prediction.settings import PredictionSettings
from rescue_shared.contracts.registry import PREDICTION as PREDICTION_TOPIC
from rescue_shared.testing import (
    RunningService,
    auth,
    eventually,
    published_events,
    run_service,
    settings_for,
)

pytestmark = pytest.mark.e2e
START = date(2026, 1, 5)


@pytest.fixture
async def services(
    database_urls: dict[str, str], kafka_bootstrap: str, topic_namespace: str
) -> AsyncIterator[dict[str, RunningService]]:
    async with contextlib.AsyncExitStack() as stack:
        running = {}
        for name, definition, settings_cls in (
            ("eligibility", ELIGIBILITY, EligibilitySettings),
            ("prediction", PREDICTION, PredictionSettings),
        ):
            settings = settings_for(settings_cls, database_url=database_urls[name],
                                    kafka_bootstrap_servers=kafka_bootstrap,
                                    kafka_topic_namespace=topic_namespace)
            running[name] = await stack.enter_async_context(run_service(definition, settings))
        yield running


def ca125(points: list[tuple[int, float]]) -> dict[str, Any]:
    return {"chemotherapy_start_date": str(START), "measurements": [
        {"date": str(START + timedelta(days=d)), "value": v, "unit": "U/mL"} for d, v in points]}


async def screening(eligibility: RunningService, screening_id: str) -> dict[str, Any]:
    response = await eligibility.client.get(f"/v1/screenings/{screening_id}", headers=SITE_USER)
    return response.json()  # type: ignore[no-any-return]


async def test_a_favourable_series_confirms_and_a_superseding_version_rejects(
    services: dict[str, RunningService],
) -> None:
    eligibility, prediction = services["eligibility"], services["prediction"]
    subject = "S01-7001"
    screened = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": subject, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    assert screened.status_code == 201
    screening_id = screened.json()["screening_id"]
    inc05 = {c["id"]: c["result"] for c in screened.json()["criteria"]}["INC-05"]
    assert inc05 == "pending_prediction" and screened.json()["final_decision"] == "pending"

    async def known_to_prediction() -> bool:
        response = await prediction.client.get(f"/v1/subjects/{subject}", headers=SITE_USER)
        return response.status_code == 200 and response.json()["latest_screening_id"] == (
            screening_id)

    await eventually(known_to_prediction, description="screening applied by prediction")

    # K = 0.05 /day exactly: standardized 0.05 / 0.037 = 1.35, AGO positive → highly likely
    sent = await prediction.client.post(f"/v1/subjects/{subject}/ca125", headers=SITE_USER,
                                        json=ca125([(0, 1000), (14, 496.585), (28, 246.597)]))
    assert sent.status_code == 201, sent.text
    first = sent.json()["prediction"]
    assert (first["version"], first["classification"]) == (1, "highly_likely_complete_resection")
    assert float(f"{first['kelim']['standardized']:.3g}") == 1.35

    async def decided(expected: str) -> dict[str, Any]:
        body = await screening(eligibility, screening_id)
        assert body["final_decision"] == expected, body["final_decision"]
        return body

    confirmed = await eventually(lambda: decided("eligible"), description="confirmed")
    assert {c["id"]: c["result"] for c in confirmed["criteria"]}["INC-05"] == "met"
    assert confirmed["prediction_classification"] == "highly_likely_complete_resection"

    # new values flatten the decline (standardized 0.08): version 2 supersedes version 1
    more = await prediction.client.post(f"/v1/subjects/{subject}/ca125", headers=SITE_USER,
                                        json=ca125([(35, 800), (42, 900)]))
    second = more.json()["prediction"]
    assert (second["version"], second["classification"]) == (2, "not_highly_likely")
    assert float(f"{second['kelim']['standardized']:.2g}") == 0.082

    rejected = await eventually(lambda: decided("ineligible"), description="rejected")
    assert rejected["failed_criteria"] == ["INC-05"]
    assert rejected["prediction_classification"] == "not_highly_likely"
    history = (await prediction.client.get(f"/v1/subjects/{subject}/predictions",
                                           headers=SITE_USER)).json()
    assert [(p["version"], p["superseded"]) for p in history] == [(1, True), (2, False)]


async def test_an_insufficient_series_keeps_the_decision_pending_until_it_is_complete(
    services: dict[str, RunningService],
) -> None:
    eligibility, prediction = services["eligibility"], services["prediction"]
    subject = "S01-7002"
    screened = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": subject, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    screening_id = screened.json()["screening_id"]

    async def known() -> bool:
        return (await prediction.client.get(f"/v1/subjects/{subject}",
                                            headers=SITE_USER)).status_code == 200

    await eventually(known)
    sent = await prediction.client.post(f"/v1/subjects/{subject}/ca125", headers=SITE_USER,
                                        json=ca125([(0, 1000), (21, 349.938)]))
    assert sent.json()["prediction"]["classification"] == "insufficient_data"

    async def applied_insufficient() -> bool:
        body = await screening(eligibility, screening_id)
        return body["prediction_classification"] == "insufficient_data"

    await eventually(applied_insufficient, description="insufficient data applied")
    assert (await screening(eligibility, screening_id))["final_decision"] == "pending"

    await prediction.client.post(f"/v1/subjects/{subject}/ca125", headers=SITE_USER,
                                 json=ca125([(42, 122.456)]))

    async def eligible() -> bool:
        return (await screening(eligibility, screening_id))["final_decision"] == "eligible"

    await eventually(eligible, description="confirmed once the series is complete")


async def prediction_events(prediction: RunningService, subject_id: str) -> list[dict[str, Any]]:
    """The prediction.completed payloads published for the subject, without their ids."""
    return [{k: v for k, v in e.payload.model_dump(mode="json").items() if k != "prediction_id"}
            for e in await published_events(prediction, PREDICTION_TOPIC.name)
            if e.subject_id == subject_id]


async def test_values_sent_before_the_screening_arrives_decide_as_in_the_normal_order(
    services: dict[str, RunningService],
) -> None:
    """The hospital posts the CA-125 series right after screening her: prediction hears of the
    screening after the values. They are kept (202) and used when it arrives."""
    eligibility, prediction = services["eligibility"], services["prediction"]
    series = ca125([(0, 1000), (14, 496.585), (28, 246.597)])
    early, normal = "S01-7011", "S01-7012"

    sent = await prediction.client.post(f"/v1/subjects/{early}/ca125", headers=SITE_USER,
                                        json=series)
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "awaiting_screening" and sent.json()["prediction"] is None
    screened = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": early, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    early_screening = screened.json()["screening_id"]

    # the normal order, for comparison
    screened = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": normal, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    normal_screening = screened.json()["screening_id"]

    async def known(subject_id: str) -> bool:
        response = await prediction.client.get(f"/v1/subjects/{subject_id}", headers=SITE_USER)
        return response.status_code == 200 and response.json()["status"] == "screened"

    await eventually(lambda: known(normal), description="screening applied by prediction")
    assert (await prediction.client.post(f"/v1/subjects/{normal}/ca125", headers=SITE_USER,
                                         json=series)).status_code == 201

    for screening_id in (early_screening, normal_screening):
        async def decided(screening_id: str = screening_id) -> bool:
            return (await screening(eligibility, screening_id))["final_decision"] == "eligible"

        await eventually(decided, description="confirmed by the prediction")
    early_prediction = (await prediction.client.get(f"/v1/subjects/{early}/prediction",
                                                    headers=SITE_USER)).json()
    assert (early_prediction["version"], early_prediction["trigger"]) == (1, "screening")
    assert early_prediction["inputs"]["screening_id"] == early_screening
    early_events, normal_events = [await prediction_events(prediction, s)
                                   for s in (early, normal)]
    assert early_events == normal_events
    assert [e["classification"] for e in early_events] == ["highly_likely_complete_resection"]


async def test_values_sent_by_another_site_before_the_screening_are_quarantined(
    services: dict[str, RunningService],
) -> None:
    eligibility, prediction = services["eligibility"], services["prediction"]
    subject = "S01-7013"
    other_site = auth("S02", "site_user")
    sent = await prediction.client.post(f"/v1/subjects/{subject}/ca125", headers=other_site,
                                        json=ca125([(0, 1000), (14, 496.585), (28, 246.597)]))
    assert sent.status_code == 202, sent.text
    screened = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": subject, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})
    screening_id = screened.json()["screening_id"]

    async def quarantined() -> list[dict[str, Any]]:
        response = await prediction.client.get(f"/v1/quarantine?subject_id={subject}",
                                               headers=auth(None, "monitor"))
        return response.json()  # type: ignore[no-any-return]

    items = await eventually(quarantined, description="values quarantined")
    assert sorted(i["kind"] for i in items) == ["ca125"] * 3 + ["chemotherapy_start_date"]
    assert {(i["sent_by_site_id"], i["screened_at_site_id"], i["screening_id"])
            for i in items} == {("S02", "S01", screening_id)}
    known = (await prediction.client.get(f"/v1/subjects/{subject}", headers=SITE_USER)).json()
    assert (known["site_id"], known["status"]) == ("S01", "screened")
    assert (await prediction.client.get(f"/v1/subjects/{subject}/prediction",
                                        headers=SITE_USER)).status_code == 404
    assert await prediction_events(prediction, subject) == []
    assert (await screening(eligibility, screening_id))["final_decision"] == "pending"
