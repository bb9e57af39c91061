"""Guards of the FHIR mapping: bodies are decoded with a depth limit, Bundles are counted before
they are validated, subject references must be pseudonyms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rescue_prediction.adapters.fhir_mapping import (
    MAX_JSON_DEPTH,
    FhirRejected,
    decode_json,
    parse_bundle,
    parse_observation,
)

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation", "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "10334-1"}]},
    "subject": {"reference": "Patient/S01-0001"},
    "effectiveDateTime": "2026-01-05",
    "valueQuantity": {"value": 812.0, "unit": "U/mL", "system": "http://unitsofmeasure.org",
                      "code": "U/mL"},
}


def nested(depth: int) -> Any:
    """`depth` arrays, one inside the other, around a number."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("raw", [
    b"[" * 1000 + b"]" * 1000, b"[" * 50_000, json.dumps(nested(MAX_JSON_DEPTH + 1)).encode(),
    b"{nope", b"\xff", b"",
])
def test_undecodable_or_absurdly_deep_bodies_are_400(raw: bytes) -> None:
    with pytest.raises(FhirRejected) as caught:
        decode_json(raw)
    assert caught.value.status == 400
    assert [i.code for i in caught.value.issues] == ["structure"]


def test_a_body_at_the_depth_limit_and_a_real_observation_decode() -> None:
    assert decode_json(json.dumps(nested(MAX_JSON_DEPTH)).encode()) == nested(MAX_JSON_DEPTH)
    wide = {"entry": [OBSERVATION] * 5000}  # width is not depth
    assert decode_json(json.dumps(wide).encode()) == wide


def test_the_entry_count_is_checked_before_any_entry_is_validated() -> None:
    too_many = {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": 42}] * 11}
    with pytest.raises(FhirRejected) as caught:
        parse_bundle(too_many, max_entries=10)
    assert caught.value.status == 413
    [issue] = caught.value.issues
    assert issue.code == "too-costly" and "at most 10" in issue.diagnostics
    with pytest.raises(FhirRejected) as invalid:
        parse_bundle({**too_many, "entry": too_many["entry"][:10]}, max_entries=10)
    assert invalid.value.status == 422


def test_bundle_level_errors_are_still_reported_and_entries_validated_once() -> None:
    bundle = {"resourceType": "Bundle", "type": "batch", "colour": "red",
              "entry": [{"resource": OBSERVATION}]}
    with pytest.raises(FhirRejected) as caught:
        parse_bundle(bundle, max_entries=10)
    assert [i.expression for i in caught.value.issues] == ["Bundle.colour"]
    valid = {k: v for k, v in bundle.items() if k != "colour"} | {"type": "transaction"}
    kind, [parsed] = parse_bundle(valid, max_entries=10)
    assert (kind, parsed.subject_id, parsed.path) == ("transaction", "S01-0001",
                                                      "Bundle.entry[0].resource")


@pytest.mark.parametrize("reference", ["Patient/../admin", "Patient/" + "x" * 65,
                                       "Patient/a b"])
def test_a_subject_reference_that_is_not_a_pseudonym_is_refused(reference: str) -> None:
    with pytest.raises(FhirRejected) as caught:
        parse_observation({**OBSERVATION, "subject": {"reference": reference}})
    assert [(i.code, i.expression) for i in caught.value.issues] == [
        ("value", "Observation.subject")]
