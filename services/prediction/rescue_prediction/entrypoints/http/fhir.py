"""FHIR R4 endpoints: CA-125 Observations, alone or in a transaction/batch Bundle.

All or nothing: any bad entry → an OperationOutcome naming it and nothing is stored: 400 for a
body that is not JSON (or nested absurdly deep), 413 for a Bundle with more entries than the
`fhir_bundle_max_entries` setting, 422 for an invalid resource, 404 for another site's subject,
409 for a value conflicting with a stored one.

A subject whose screening has not reached this service yet is accepted for the caller's site:
201 Created (the Observation is stored, which is what a FHIR create promises); the prediction
waits for the screening, as a Bundle entry's `response.outcome` (information) and the
`X-Subject-Status: awaiting_screening` header say.

Decoding, FHIR validation (`fhir.resources`) and mapping are CPU-bound: they run in a worker
thread, so /healthz, other requests and the event consumer keep their pace meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from rescue_prediction.adapters.fhir_mapping import (
    FHIR_JSON,
    FhirRejected,
    Issue,
    IssueCode,
    ParsedObservation,
    decode_json,
    operation_outcome,
    parse_bundle,
    parse_observation,
)
from rescue_prediction.entrypoints.http.dependencies import SiteWriter, UoW
from rescue_prediction.entrypoints.http.fhir_schemas import (
    BUNDLE,
    BUNDLE_RESPONSE,
    CA125_OBSERVATION,
    OPERATION_OUTCOME,
    fhir_body,
    fhir_content,
)
from rescue_prediction.entrypoints.http.schemas import AWAITING_SCREENING_NOTE
from rescue_prediction.service_layer.ca125 import (
    LabResult,
    ObservationsRecorded,
    record_fhir_observations,
)
from rescue_prediction.settings import PredictionSettings
from rescue_shared.auth import Principal
from rescue_shared.errors import ServiceError

router = APIRouter(prefix="/v1/fhir", tags=["FHIR"])
SUBJECT_STATUS_HEADER = "X-Subject-Status"
_OUTCOME = fhir_content(OPERATION_OUTCOME)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "OperationOutcome: the body is not JSON, or is nested deeper than any "
                         "FHIR resource", "content": _OUTCOME},
    422: {"description": "OperationOutcome: what is wrong and where (FHIRPath)",
          "content": _OUTCOME},
    404: {"description": "OperationOutcome: another site's subject", "content": _OUTCOME},
    409: {"description": "OperationOutcome: a value conflicts with a stored one",
          "content": _OUTCOME},
    415: {"description": "OperationOutcome: send application/fhir+json", "content": _OUTCOME},
}
_STATUS_HEADER = {SUBJECT_STATUS_HEADER: {
    "description": "screened, or awaiting_screening: stored, the prediction waits for her "
                   "screening", "schema": {"type": "string",
                                           "enum": ["screened", "awaiting_screening"]}}}
_LOCATION_HEADER = {"Location": {"description": "Observation/<id>",
                                 "schema": {"type": "string"}}}
_CREATED_EARLY = (
    " A subject whose eligibility screening has not reached this service yet is accepted for "
    "the caller's site all the same (201: the Observation is stored; header "
    f"{SUBJECT_STATUS_HEADER}: awaiting_screening); her prediction is computed when the "
    "screening arrives, and if it names another site the values are quarantined for a monitor.")


def fhir_response(body: dict[str, Any], status: int) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


async def _rejected(exc: FhirRejected) -> JSONResponse:
    # Up to one issue per entry of a large Bundle: the OperationOutcome is built off the loop too.
    return fhir_response(await asyncio.to_thread(operation_outcome, exc.issues), exc.status)


async def _body(request: Request) -> bytes:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (FHIR_JSON, "application/json"):
        raise FhirRejected(415, [Issue("not-supported", f"Content-Type {media or 'missing'}: "
                                                        f"send {FHIR_JSON}", "Resource")])
    return await request.body()


def _max_entries(request: Request) -> int:
    settings = request.app.state.settings
    default = PredictionSettings.model_fields["fhir_bundle_max_entries"].default
    return int(getattr(settings, "fhir_bundle_max_entries", default))


def _read_observation(raw: bytes) -> tuple[Any, ParsedObservation]:
    resource = decode_json(raw)
    return resource, parse_observation(resource)


def _read_bundle(raw: bytes, max_entries: int) -> tuple[str, list[ParsedObservation]]:
    return parse_bundle(decode_json(raw), max_entries)


_ISSUE_CODE: TypeAdapter[IssueCode] = TypeAdapter(IssueCode)


def _issue_code(rule: str) -> IssueCode:
    try:
        return _ISSUE_CODE.validate_python(rule)
    except ValidationError:
        return "invalid"


def _rejected_by_use_case(exc: ServiceError) -> FhirRejected:
    """A use case's refusal as FHIR issues: each error's rule is a FHIR issue code, its field
    a FHIRPath."""
    errors: list[dict[str, Any]] = exc.extensions.get("errors") or [
        {"field": "Observation", "rule": "invalid", "message": exc.detail}]
    return FhirRejected(exc.status, [Issue(_issue_code(str(e["rule"])), str(e["message"]),
                                           str(e["field"])) for e in errors])


async def _store(uow: UoW, principal: Principal,
                 parsed: list[ParsedObservation]) -> ObservationsRecorded:
    """Store the observations (all or nothing)."""
    try:
        return await record_fhir_observations(uow, principal, [
            LabResult(path=o.path, subject_id=o.subject_id, fhir_id=o.fhir_id, value=o.value,
                      status=o.status) for o in parsed])
    except ServiceError as exc:
        raise _rejected_by_use_case(exc) from exc


def _location(obs: ParsedObservation) -> str:
    return f"Observation/{obs.fhir_id or f'ca125-{obs.subject_id}-{obs.value.effective_date}'}"


def _status_header(response: JSONResponse, result: ObservationsRecorded) -> None:
    response.headers[SUBJECT_STATUS_HEADER] = ("awaiting_screening" if result.awaiting
                                               else "screened")


@router.post("/Observation", summary="Send one CA-125 result as a FHIR R4 Observation",
             description="Stores the Observation (201; 200 when already known)." + _CREATED_EARLY,
             openapi_extra=fhir_body(CA125_OBSERVATION), status_code=201,
             response_class=JSONResponse,
             responses={201: {"description": "Stored: the Observation with its id",
                              "content": fhir_content(CA125_OBSERVATION),
                              "headers": _STATUS_HEADER | _LOCATION_HEADER},
                        200: {"description": "Already known: nothing changed",
                              "content": fhir_content(CA125_OBSERVATION),
                              "headers": _STATUS_HEADER | _LOCATION_HEADER}, **_RESPONSES})
async def post_observation(request: Request, principal: SiteWriter, uow: UoW) -> JSONResponse:
    try:
        resource, parsed = await asyncio.to_thread(_read_observation, await _body(request))
        result = await _store(uow, principal, [parsed])
    except FhirRejected as exc:
        return await _rejected(exc)
    body = dict(resource)
    body.setdefault("id", _location(parsed).split("/", 1)[1])
    response = fhir_response(body, 201 if result.fresh[0] else 200)
    response.headers["Location"] = _location(parsed)
    _status_header(response, result)
    return response


@router.post("", summary="Send a transaction or batch Bundle of CA-125 Observations",
             description="All or nothing; at most `FHIR_BUNDLE_MAX_ENTRIES` entries (413 "
                         "beyond, counted before any validation)." + _CREATED_EARLY,
             openapi_extra=fhir_body(BUNDLE), response_class=JSONResponse,
             responses={200: {"description": "transaction-response / batch-response Bundle",
                              "content": fhir_content(BUNDLE_RESPONSE),
                              "headers": _STATUS_HEADER},
                        413: {"description": "OperationOutcome: too many entries (the limit "
                                             "is named)", "content": _OUTCOME},
                        **_RESPONSES})
async def post_bundle(request: Request, principal: SiteWriter, uow: UoW) -> JSONResponse:
    try:
        kind, parsed = await asyncio.to_thread(_read_bundle, await _body(request),
                                               _max_entries(request))
        result = await _store(uow, principal, parsed)
    except FhirRejected as exc:
        return await _rejected(exc)
    waiting = operation_outcome([Issue("informational", AWAITING_SCREENING_NOTE, "Observation")],
                                severity="information") if result.awaiting else None
    entries = []
    for obs, new in zip(parsed, result.fresh, strict=True):
        entry: dict[str, Any] = {"status": "201 Created" if new else "200 OK",
                                 "location": _location(obs)}
        if obs.subject_id in result.awaiting:
            entry["outcome"] = waiting
        entries.append({"response": entry})
    response = fhir_response({"resourceType": "Bundle", "type": f"{kind}-response",
                              "entry": entries}, 200)
    _status_header(response, result)
    return response
