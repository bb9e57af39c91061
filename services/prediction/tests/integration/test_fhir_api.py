"""FHIR R4 CA-125 Observations and Bundles: valid ones stored, invalid ones explained."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
SITE_USER = auth("S01", "site_user")
FHIR = {"Content-Type": "application/fhir+json"}
START = date(2026, 1, 5)


def observation(subject_id: str, day: int, value: float, unit: str = "U/mL",
                loinc: str = "10334-1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": f"Patient/{subject_id}"},
        "effectiveDateTime": f"{START + timedelta(days=day)}T08:30:00+01:00",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org",
                          "code": unit},
        **extra,
    }


def bundle(*resources: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [
        {"resource": r, "request": {"method": "POST", "url": "Observation"}} for r in resources]}


async def send(service: RunningService, path: str, body: Any,
               headers: dict[str, str] = FHIR) -> Any:
    return await service.client.post(path, content=json.dumps(body),
                                      headers=SITE_USER | headers)


def outcome(response: Any) -> list[tuple[str, str]]:
    """(code, expression) of each issue, after checking it is a valid OperationOutcome."""
    assert response.headers["content-type"].startswith("application/fhir+json")
    parsed = OperationOutcome.model_validate(response.json())
    assert all(i.severity == "error" and i.diagnostics for i in parsed.issue)
    return [(i.code, i.expression[0]) for i in parsed.issue]


async def start_chemo(service: RunningService, subject_id: str) -> None:
    response = await service.client.post(
        f"/v1/subjects/{subject_id}/ca125", headers=SITE_USER,
        json={"chemotherapy_start_date": str(START), "measurements": []})
    assert response.status_code == 201, response.text


async def ca125(service: RunningService, subject_id: str) -> list[dict[str, Any]]:
    response = await service.client.get(f"/v1/subjects/{subject_id}/ca125", headers=SITE_USER)
    return response.json()  # type: ignore[no-any-return]


async def test_a_valid_observation_is_stored_normalised_with_its_fhir_id(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0101")
    body = observation("S01-0101", 0, 812.0, unit="kU/L", id="lab-812")
    response = await send(prediction, "/v1/fhir/Observation", body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.headers["location"] == "Observation/lab-812"
    again = await send(prediction, "/v1/fhir/Observation", body)
    assert again.status_code == 200
    stored = await ca125(prediction, "S01-0101")
    assert len(stored) == 1
    assert stored[0] | {"received_at": None} == {
        "date": str(START), "value_u_ml": 812.0, "original_value": 812.0,
        "original_unit": "kU/L", "loinc": "10334-1", "censoring": None, "day": None,
        "source": "fhir", "fhir_id": "lab-812", "received_at": None}


async def test_a_transaction_bundle_stores_the_series_and_predicts(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0102")
    await start_chemo(prediction, "S01-0102")
    resources = [observation("S01-0102", d, v, loinc="83082-8" if d else "10334-1")
                 for d, v in [(0, 1000.0), (14, 496.585), (28, 246.597), (42, 122.456)]]
    response = await send(prediction, "/v1/fhir", bundle(*resources))
    assert response.status_code == 200, response.text
    reply = Bundle.model_validate(response.json())
    assert reply.type == "transaction-response"
    assert [e.response.status for e in reply.entry] == ["201 Created"] * 4
    assert reply.entry[1].response.location == f"Observation/ca125-S01-0102-{START + timedelta(14)}"
    body = (await prediction.client.get("/v1/subjects/S01-0102/prediction",
                                        headers=SITE_USER)).json()
    assert float(f"{body['kelim']['k_per_day']:.4g}") == 0.05
    assert body["trigger"] == "fhir"
    assert body["classification"] == "highly_likely_complete_resection"
    assert [m["source"] for m in body["inputs"]["ca125"]] == ["fhir"] * 4


def _without(resource: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != key}


GOOD = observation("S01-0103", 14, 500.0)


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    resource = copy.deepcopy(GOOD)
    node = resource
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return resource


@pytest.mark.parametrize(("resource", "code", "expression", "words"), [
    (observation("S01-0103", 14, 500.0, loinc="11210-2"), "value", "Observation.code",
     "body fluid"),
    (observation("S01-0103", 14, 500.0, loinc="2857-1"), "value", "Observation.code",
     "10334-1"),
    (_without(GOOD, "effectiveDateTime"), "required", "Observation.effectiveDateTime",
     "required"),
    (_without(GOOD, "valueQuantity"), "required", "Observation.valueQuantity", "required"),
    (_without(GOOD, "code"), "required", "Observation.code", "required"),
    (_without(GOOD, "subject"), "required", "Observation.subject", "Patient/"),
    (_with(("valueQuantity", "code"), "mg/dL"), "value", "Observation.valueQuantity.code",
     "mg/dL"),
    (_with(("valueQuantity", "system"), "http://example.org/units"), "value",
     "Observation.valueQuantity.system", "UCUM"),
    (_with(("valueQuantity", "value"), 0), "value", "Observation.valueQuantity.value",
     "out of range"),
    (_with(("valueQuantity", "value"), 2_000_000), "value", "Observation.valueQuantity.value",
     "out of range"),
    (_with(("effectiveDateTime",), str(date.today() + timedelta(days=2))), "value",
     "Observation.effectiveDateTime", "future"),
    (_with(("effectiveDateTime",), "2026-02-31"), "invalid", "Observation.effectiveDateTime",
     "DateTime"),
    (_with(("effectiveDateTime",), "2026-02"), "value", "Observation.effectiveDateTime",
     "not a full date"),
    (_with(("effectiveDateTime",), "2026"), "value", "Observation.effectiveDateTime",
     "not a full date"),
    (_with(("status",), "preliminary"), "value", "Observation.status", "final"),
    (_with(("colour",), "red"), "invalid", "Observation.colour", "Extra"),
    ({"resourceType": "Patient", "id": "S01-0103"}, "not-supported", "Observation",
     "Patient"),
])
async def test_an_invalid_observation_is_422_with_an_operation_outcome_saying_why(
    prediction: RunningService, screened: Any, resource: dict[str, Any], code: str,
    expression: str, words: str,
) -> None:
    await screened("S01-0103")
    response = await send(prediction, "/v1/fhir/Observation", resource)
    assert response.status_code == 422, response.text
    assert outcome(response) == [(code, expression)]
    assert words in response.json()["issue"][0]["diagnostics"]
    assert await ca125(prediction, "S01-0103") == []


async def test_a_bundle_with_one_bad_entry_stores_nothing_and_names_the_entry(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0104")
    good = observation("S01-0104", 0, 1000.0)
    bad = observation("S01-0104", 14, 500.0, unit="mmol/L")
    response = await send(prediction, "/v1/fhir", bundle(good, bad, kind="batch"))
    assert response.status_code == 422
    assert outcome(response) == [("value", "Bundle.entry[1].resource.valueQuantity.code")]
    assert await ca125(prediction, "S01-0104") == []

    malformed = await send(prediction, "/v1/fhir", bundle(good, _without(bad, "code")))
    assert outcome(malformed) == [("required", "Bundle.entry[1].resource.code")]
    other = await send(prediction, "/v1/fhir", {**bundle(good), "type": "document"})
    assert outcome(other) == [("value", "Bundle.type")]
    assert await ca125(prediction, "S01-0104") == []


async def test_unknown_or_other_site_subjects_and_conflicts_are_refused(
    prediction: RunningService, screened: Any,
) -> None:
    # Not screened yet: stored for the caller's site (test_early_values.py)
    unknown = await send(prediction, "/v1/fhir/Observation", observation("S01-0999", 0, 80.0))
    assert unknown.status_code == 201, unknown.text
    assert unknown.headers["x-subject-status"] == "awaiting_screening"
    await screened("S02-0105", site_id="S02")
    other_site = await send(prediction, "/v1/fhir/Observation", observation("S02-0105", 0, 80.0))
    assert other_site.status_code == 404
    assert outcome(other_site) == [("not-found", "Observation.subject")]
    bundled = await send(prediction, "/v1/fhir", bundle(observation("S01-0998", 0, 80.0),
                                                        observation("S02-0105", 0, 80.0)))
    assert outcome(bundled) == [("not-found", "Bundle.entry[1].resource.subject")]
    assert (await prediction.client.get("/v1/subjects/S01-0998",  # all or nothing
                                        headers=SITE_USER)).status_code == 404

    await screened("S01-0105")
    await start_chemo(prediction, "S01-0105")
    assert (await send(prediction, "/v1/fhir/Observation",
                       observation("S01-0105", 0, 800.0))).status_code == 201
    conflict = await send(prediction, "/v1/fhir", bundle(observation("S01-0105", 14, 400.0),
                                                         observation("S01-0105", 0, 810.0)))
    assert conflict.status_code == 409
    assert outcome(conflict) == [("conflict", "Bundle.entry[1].resource.valueQuantity")]
    too_early = await send(prediction, "/v1/fhir/Observation", observation("S01-0105", -30, 9.0))
    assert outcome(too_early) == [("value", "Observation.effectiveDateTime")]
    assert [m["value_u_ml"] for m in await ca125(prediction, "S01-0105")] == [800.0]


async def test_only_fhir_json_is_accepted(prediction: RunningService, screened: Any) -> None:
    await screened("S01-0106")
    response = await send(prediction, "/v1/fhir/Observation", observation("S01-0106", 0, 80.0),
                          headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert outcome(response) == [("not-supported", "Resource")]
    broken = await prediction.client.post("/v1/fhir/Observation", content=b"{not json",
                                          headers=SITE_USER | FHIR)
    assert broken.status_code == 400 and outcome(broken) == [("structure", "Resource")]


async def test_a_retried_bundle_with_the_same_idempotency_key_is_replayed(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0107")
    body = bundle(observation("S01-0107", 0, 1000.0), observation("S01-0107", 14, 500.0))
    key = FHIR | {"Idempotency-Key": "lab-batch-0107"}
    first = await send(prediction, "/v1/fhir", body, headers=key)
    retry = await send(prediction, "/v1/fhir", body, headers=key)
    assert first.status_code == retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert [e["response"]["status"] for e in retry.json()["entry"]] == ["201 Created"] * 2
    assert len(await ca125(prediction, "S01-0107")) == 2


async def test_a_start_date_leaving_a_stored_fhir_value_before_the_window_is_refused(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0107")
    # FHIR carries no chemotherapy start: the value waits, then the start must accommodate it.
    assert (await send(prediction, "/v1/fhir/Observation",
                       observation("S01-0107", -30, 900.0))).status_code == 201
    response = await prediction.client.post(
        "/v1/subjects/S01-0107/ca125", headers=SITE_USER,
        json={"chemotherapy_start_date": str(START), "measurements": []})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("chemotherapy_start_date", "before_window")
    subject = (await prediction.client.get("/v1/subjects/S01-0107/ca125",
                                           headers=SITE_USER)).json()
    assert [m["day"] for m in subject] == [None]  # still no start recorded
    await start_chemo_at(prediction, "S01-0107", START - timedelta(days=30))


async def start_chemo_at(service: RunningService, subject_id: str, start: date) -> None:
    response = await service.client.post(
        f"/v1/subjects/{subject_id}/ca125", headers=SITE_USER,
        json={"chemotherapy_start_date": str(start), "measurements": []})
    assert response.status_code == 201, response.text


async def test_a_corrected_observation_replaces_the_value_and_keeps_the_earlier_one(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0108")
    await start_chemo(prediction, "S01-0108")
    assert (await send(prediction, "/v1/fhir/Observation",
                       observation("S01-0108", 14, 812.0, id="lab-1"))).status_code == 201
    corrected = observation("S01-0108", 14, 81.2, id="lab-1", status="corrected")
    response = await send(prediction, "/v1/fhir/Observation", corrected)
    assert response.status_code == 201, response.text
    assert [m["value_u_ml"] for m in await ca125(prediction, "S01-0108")] == [81.2]
    [history] = (await prediction.client.get("/v1/subjects/S01-0108/ca125/corrections",
                                             headers=SITE_USER)).json()
    assert (history["previous_value_u_ml"], history["value_u_ml"]) == (812.0, 81.2)
    assert "lab-1" in history["reason"] and "corrected" in history["reason"]
    # A final result that differs is still a conflict: only the lab's correction replaces.
    final = observation("S01-0108", 14, 90.0)
    assert (await send(prediction, "/v1/fhir/Observation", final)).status_code == 409
