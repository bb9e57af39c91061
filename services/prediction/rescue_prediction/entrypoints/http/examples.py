"""What integrators see in the OpenAPI document: a request the service accepts, per operation,
and the rules it enforces beyond the document's JSON Schema (tests post every example, in this
order, for the subject screened by eligibility's example)."""

from __future__ import annotations

from typing import Any

from rescue_prediction.adapters.fhir_mapping import FHIR_JSON, LOINC_SYSTEM, UCUM_SYSTEM
from rescue_shared.http.openapi import RequestExample
from rescue_shared.queries.http import QUERY_EXAMPLES, QUERY_RULES

SUBJECT = {"subject_id": "S01-0001"}
# A favourable decline (K = 0.045/day, above K_ref) from chemotherapy day 0 to day 42.
SERIES: dict[str, Any] = {"chemotherapy_start_date": "2026-01-05", "measurements": [
    {"date": "2026-01-05", "value": 812.0, "unit": "U/mL"},
    {"date": "2026-01-19", "value": 432.5, "unit": "U/mL"},
    {"date": "2026-02-02", "value": 230.3, "unit": "U/mL"},
    {"date": "2026-02-16", "value": 122.7, "unit": "kU/L", "loinc": "10334-1"}]}


def ca125_observation(day: str, value: float) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC_SYSTEM, "code": "10334-1",
                                 "display": "Cancer Ag 125 [Units/volume] in Serum or Plasma"}]},
            "subject": {"reference": "Patient/S01-0001"}, "effectiveDateTime": day,
            "valueQuantity": {"value": value, "unit": "U/mL", "system": UCUM_SYSTEM,
                              "code": "U/mL"}}


REQUEST_EXAMPLES = {
    "post_ca125": RequestExample(SERIES, path=SUBJECT),
    "post_observation": RequestExample(ca125_observation("2026-01-12", 592.6),
                                       media_type=FHIR_JSON),
    "post_bundle": RequestExample({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": ca125_observation("2026-01-26", 315.6),
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": ca125_observation("2026-02-09", 168.1),
         "request": {"method": "POST", "url": "Observation"}}]}, media_type=FHIR_JSON),
    "correct_ca125": RequestExample(
        {"date": "2026-01-19", "value": 431.5, "unit": "U/mL",
         "reason": "Transcription error in the laboratory report"}, path=SUBJECT),
    "post_official_kelim": RequestExample(
        {"value": 1.2, "scale": "standardized", "source": "biomarker-kinetics.org",
         "version": "2024.1", "computed_on": "2026-02-20"}, path=SUBJECT),
    "calculate": RequestExample({**SERIES, "uln_u_ml": 35.0}),
    "calculate_batch": RequestExample({"series": [{"id": "cohort-0001", **SERIES}]}),
}

_DATES = "dates are not after today anywhere on Earth (UTC+14)"
_WINDOW = "no measurement more than 14 days before chemotherapy_start_date"
RULES_BEYOND_SCHEMA = {
    "post_ca125": [_DATES, _WINDOW],
    "correct_ca125": [_DATES],
    "post_official_kelim": [_DATES],
    "calculate": [_DATES, _WINDOW],
    "calculate_batch": [_DATES, _WINDOW],
    "post_observation": [_DATES, "the body is a valid FHIR R4 Observation (fhir.resources): "
                                 "elements not shown here must still be FHIR's"],
    "post_bundle": [_DATES, "the body is a valid FHIR R4 Bundle of such Observations"],
}

REQUEST_EXAMPLES |= QUERY_EXAMPLES
RULES_BEYOND_SCHEMA |= QUERY_RULES
