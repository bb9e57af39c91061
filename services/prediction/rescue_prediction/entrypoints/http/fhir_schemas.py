"""JSON Schemas of the FHIR R4 resources the FHIR endpoints read and answer, for the OpenAPI
document: the elements the service uses, with their accepted values. Any other FHIR element is
allowed (the body is validated as a whole with `fhir.resources`)."""

from __future__ import annotations

from typing import Any

from rescue_prediction.adapters.fhir_mapping import (
    ACCEPTED_STATUS,
    FHIR_JSON,
    LOINC_SYSTEM,
    UCUM_SYSTEM,
)
from rescue_prediction.domain.model import SUBJECT_ID_PATTERN
from rescue_prediction.domain.units import KINETICS_LOINC, MAX_VALUE_U_ML

_SUBJECT_ID = SUBJECT_ID_PATTERN.removeprefix("^").removesuffix("$")
# U/mL or kU/L in any letter case, as the service reads units.
UNIT_PATTERN = r"^\s*([Uu]/[Mm][Ll]|[Kk][Uu]/[Ll])\s*$"

CA125_OBSERVATION: dict[str, Any] = {
    "title": "Ca125Observation",
    "type": "object",
    "description": "A FHIR R4 Observation of serum CA-125: the elements the service reads.",
    "required": ["resourceType", "status", "code", "subject", "effectiveDateTime",
                 "valueQuantity"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Observation"]},
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9\-.]{1,64}$",
               "description": "Your id; the Location answered is Observation/<id>."},
        "status": {"type": "string", "enum": list(ACCEPTED_STATUS),
                   "description": "corrected or amended replaces the stored value of the day."},
        "code": {"type": "object", "required": ["coding"], "properties": {"coding": {
            "type": "array",
            "description": f"Among them, a coding with system {LOINC_SYSTEM} and code "
                           f"{' or '.join(KINETICS_LOINC)}.",
            "items": {"type": "object", "properties": {
                "system": {"type": "string"}, "code": {"type": "string"},
                "display": {"type": "string"}}},
            "contains": {"type": "object", "required": ["system", "code"], "properties": {
                "system": {"type": "string", "enum": [LOINC_SYSTEM]},
                "code": {"type": "string", "enum": list(KINETICS_LOINC)}}}}}},
        "subject": {"type": "object", "description": "Patient/<subject_id> (the site's "
                                                     "pseudonym), or an identifier with it.",
                    "anyOf": [{"required": ["reference"]}, {"required": ["identifier"]}],
                    "properties": {
            "reference": {"type": "string", "pattern": f"^Patient/{_SUBJECT_ID}$"},
            "identifier": {"type": "object", "required": ["value"], "properties": {
                "value": {"type": "string", "pattern": f"^{_SUBJECT_ID}$"}}}}},
        "effectiveDateTime": {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$",
            "description": "The draw date (a full date, or a date-time counted on the date "
                           "written in it), not in the future."},
        "valueQuantity": {"type": "object", "required": ["value", "system"],
                          "anyOf": [{"required": ["code"]}, {"required": ["unit"]}],
                          "description": "The unit is `code`, or `unit` when there is no code.",
                          "properties": {
            "value": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_VALUE_U_ML},
            "comparator": {"type": "string", "enum": ["<", "<=", ">=", ">"],
                           "description": "Below the detection limit or above the range: "
                                          "stored, excluded from the fit."},
            "unit": {"type": "string", "pattern": UNIT_PATTERN},
            "system": {"type": "string", "enum": [UCUM_SYSTEM]},
            "code": {"type": "string", "pattern": UNIT_PATTERN}}},
    },
}

BUNDLE: dict[str, Any] = {
    "title": "Ca125Bundle",
    "type": "object",
    "description": "A transaction or batch Bundle of CA-125 Observations (all or nothing).",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["transaction", "batch"]},
        "entry": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["resource"], "properties": {
                "fullUrl": {"type": "string"},
                "resource": CA125_OBSERVATION,
                "request": {"type": "object", "required": ["method", "url"], "properties": {
                    "method": {"type": "string", "enum": ["POST", "PUT"]},
                    "url": {"type": "string"}}}}}},
    },
}

OPERATION_OUTCOME: dict[str, Any] = {
    "title": "OperationOutcome",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "items": {
            "type": "object", "required": ["severity", "code"], "properties": {
                "severity": {"type": "string",
                             "enum": ["fatal", "error", "warning", "information"]},
                "code": {"type": "string", "description": "FHIR issue type"},
                "diagnostics": {"type": "string"},
                "expression": {"type": "array", "items": {"type": "string"},
                               "description": "FHIRPath of the element at fault."}}}},
    },
}

BUNDLE_RESPONSE: dict[str, Any] = {
    "title": "Ca125BundleResponse",
    "type": "object",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["transaction-response", "batch-response"]},
        "entry": {"type": "array", "items": {"type": "object", "required": ["response"],
                                             "properties": {"response": {
            "type": "object", "required": ["status", "location"], "properties": {
                "status": {"type": "string", "enum": ["201 Created", "200 OK"]},
                "location": {"type": "string"},
                "outcome": OPERATION_OUTCOME}}}}},
    },
}


def fhir_body(schema: dict[str, Any]) -> dict[str, Any]:
    """An `openapi_extra` request body of FHIR JSON (application/json is read the same)."""
    return {"requestBody": {"required": True, "content": {
        FHIR_JSON: {"schema": schema}, "application/json": {"schema": schema}}}}


def fhir_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {FHIR_JSON: {"schema": schema}}
