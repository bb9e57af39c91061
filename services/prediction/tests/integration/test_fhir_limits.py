"""FHIR endpoints under hostile or heavy bodies: deep JSON is a 400 OperationOutcome, a Bundle
over the entry cap is a 413 naming the limit, and a large Bundle is validated off the event loop
(health answers meanwhile)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from rescue_prediction.app import DEFINITION
from rescue_prediction.settings import PredictionSettings
from rescue_shared.testing import RunningService, auth, run_service, settings_for

pytestmark = pytest.mark.integration
SITE_USER = auth("S01", "site_user")
FHIR = {"Content-Type": "application/fhir+json"}
START = date(2026, 1, 5)
ENDPOINTS = ["/v1/fhir", "/v1/fhir/Observation"]


def observation(subject_id: str, day: int, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "10334-1"}]},
        "subject": {"reference": f"Patient/{subject_id}"},
        "effectiveDateTime": str(START - timedelta(days=day)),
        "valueQuantity": {"value": value, "unit": "U/mL", "system": "http://unitsofmeasure.org",
                          "code": "U/mL"},
    }


def bundle(resources: list[Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": r, "request": {"method": "POST", "url": "Observation"}} for r in resources]}


async def post_raw(service: RunningService, path: str, content: bytes | str) -> Any:
    return await service.client.post(path, content=content, headers=SITE_USER | FHIR)


def issues(response: Any) -> list[tuple[str, str]]:
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = OperationOutcome.model_validate(response.json())
    return [(i.code, i.diagnostics) for i in outcome.issue]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("body", [
    "[" * 1000 + "]" * 1000,
    '{"a":' * 1000 + "1" + "}" * 1000,
    "[" * 100_000,
])
async def test_json_nested_past_the_parser_limit_is_a_400_operation_outcome(
    prediction: RunningService, path: str, body: str,
) -> None:
    response = await post_raw(prediction, path, body)
    assert response.status_code == 400, response.text
    [(code, diagnostics)] = issues(response)
    assert code == "structure" and "nested too deeply" in diagnostics


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_json_nested_deeper_than_any_fhir_resource_is_a_400(
    prediction: RunningService, path: str,
) -> None:
    nested: Any = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(200):  # well within the parser's limit, far beyond any Observation
        nested = {"url": "http://example.org/x", "extension": [nested]}
    resource = observation("S01-0401", 0, 800.0) | {"extension": [nested]}
    body = bundle([resource]) if path == "/v1/fhir" else resource
    response = await post_raw(prediction, path, json.dumps(body))
    assert response.status_code == 400, response.text
    assert [c for c, _ in issues(response)] == ["structure"]
    assert (await prediction.client.get("/v1/subjects/S01-0401",
                                        headers=SITE_USER)).status_code == 404


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_body_that_is_not_json_is_a_400(prediction: RunningService, path: str) -> None:
    for content in (b"{not json", b"\xff\xfe{", b""):
        response = await post_raw(prediction, path, content)
        assert response.status_code == 400, response.text
        assert [c for c, _ in issues(response)] == ["structure"]


async def test_a_bundle_over_the_entry_cap_is_413_naming_the_limit_before_validation(
    prediction: RunningService,
) -> None:
    limit = PredictionSettings.model_fields["fhir_bundle_max_entries"].default
    assert limit == 1000
    # entries that would each fail validation: the count alone decides, nothing is validated
    response = await post_raw(prediction, "/v1/fhir", json.dumps(bundle([{}] * (limit + 1))))
    assert response.status_code == 413, response.text
    [(code, diagnostics)] = issues(response)
    assert code == "too-costly"
    assert f"{limit + 1} entries, at most {limit}" in diagnostics
    assert "FHIR_BUNDLE_MAX_ENTRIES" in diagnostics
    at_limit = bundle([observation(f"S01-05{i // 40:02d}", i % 40, 100.0 + i)
                       for i in range(limit)])
    accepted = await post_raw(prediction, "/v1/fhir", json.dumps(at_limit))
    assert accepted.status_code == 200, accepted.text[:500]
    assert len(accepted.json()["entry"]) == limit


@pytest.fixture
async def roomy(database_url: str) -> AsyncIterator[RunningService]:
    """The service configured for large Bundles (bigger body and entry caps)."""
    settings = settings_for(PredictionSettings, database_url=database_url,
                            messaging_enabled=False, fhir_bundle_max_entries=6000,
                            max_request_body_bytes=16 * 1024 * 1024)
    async with run_service(DEFINITION, settings) as service:
        yield service


async def test_health_stays_responsive_while_a_large_bundle_is_validated(
    roomy: RunningService,
) -> None:
    entries = [observation(f"S01-06{i // 40:02d}", i % 40, 100.0 + i) for i in range(5000)]
    content = json.dumps(bundle(entries))
    started = time.perf_counter()
    in_flight = asyncio.create_task(post_raw(roomy, "/v1/fhir", content))
    # A blocked event loop shows as a gap between two health answers (an in-process request
    # that never waits on I/O would not show it in its own latency).
    answered = [started]
    while not in_flight.done():
        await asyncio.sleep(0.02)
        health = await roomy.client.get("/healthz")
        assert health.status_code == 200
        answered.append(time.perf_counter())
    response = await in_flight
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:500]
    assert [e["response"]["status"] for e in response.json()["entry"]] == ["201 Created"] * 5000
    gaps = [b - a for a, b in itertools.pairwise(answered)]
    # the Bundle was in flight long enough to matter, and health kept its pace throughout
    assert elapsed > 1.0 and len(gaps) >= 10, (elapsed, len(gaps))
    assert max(gaps) < 1.0, (max(gaps), elapsed)
