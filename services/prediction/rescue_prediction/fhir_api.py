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
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rescue_prediction import ca125_store
from rescue_prediction.api import SiteWriter
from rescue_prediction.ca125_store import Incoming
from rescue_prediction.fhir_mapping import (
    CORRECTING_STATUS,
    FHIR_JSON,
    FhirRejected,
    Issue,
    ParsedObservation,
    decode_json,
    operation_outcome,
    parse_bundle,
    parse_observation,
)
from rescue_prediction.predictions import measurements_of, recompute
from rescue_prediction.schemas import AWAITING_SCREENING_NOTE
from rescue_prediction.settings import PredictionSettings
from rescue_prediction.tables import PredictionSubject
from rescue_shared.auth import Principal
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1/fhir", tags=["FHIR"])
SUBJECT_STATUS_HEADER = "X-Subject-Status"
_BODY = {"requestBody": {"required": True, "content": {FHIR_JSON: {"schema": {"type": "object"}}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "OperationOutcome: the body is not JSON, or is nested deeper than any "
                         "FHIR resource", "content": {FHIR_JSON: {}}},
    422: {"description": "OperationOutcome: what is wrong and where (FHIRPath)",
          "content": {FHIR_JSON: {}}},
    404: {"description": "OperationOutcome: another site's subject",
          "content": {FHIR_JSON: {}}},
    409: {"description": "OperationOutcome: a value conflicts with a stored one",
          "content": {FHIR_JSON: {}}},
    415: {"description": "OperationOutcome: send application/fhir+json",
          "content": {FHIR_JSON: {}}},
}
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


@dataclass(frozen=True)
class StoreResult:
    fresh: list[bool]  # per observation, in the request's order: newly added (or corrected)
    awaiting: frozenset[str]  # subjects still awaiting their screening


async def _store(uow: UoW, principal: Principal, parsed: list[ParsedObservation]) -> StoreResult:
    """Store the observations (all or nothing)."""
    by_subject: dict[str, list[ParsedObservation]] = defaultdict(list)
    for obs in parsed:
        by_subject[obs.subject_id].append(obs)
    issues: list[Issue] = []
    subjects: dict[str, PredictionSubject] = {}
    status = 422
    # Locked in a fixed order, so two Bundles naming the same subjects cannot deadlock. A subject
    # not known yet is created for the caller's site (ON CONFLICT DO NOTHING, then locked).
    for subject_id, items in sorted(by_subject.items()):
        subject = await ca125_store.lock_owned(uow, principal, subject_id)
        if subject is None:
            status = 404
            issues += [Issue("not-found", f"{o.path}.subject: Patient/{subject_id} not found at "
                                          "your site", f"{o.path}.subject") for o in items]
            continue
        subjects[subject_id] = subject
        issues += [Issue("value", f"{o.path}.effectiveDateTime: {why}",
                         f"{o.path}.effectiveDateTime")
                   for o in items
                   if (why := ca125_store.too_early(o.value.effective_date,
                                                    subject.chemotherapy_start_date))]
    if issues:
        raise FhirRejected(status if status == 404 else 422, issues)
    corrections: dict[str, ParsedObservation] = {}
    for subject_id, items in by_subject.items():
        incoming = [Incoming(o.path, o.value, "fhir", o.fhir_id) for o in items]
        conflicts = await ca125_store.find_conflicts(uow, subject_id, incoming)
        by_path = {o.path: o for o in items}
        for c in conflicts:
            if by_path[c.field].status in CORRECTING_STATUS:
                corrections[c.field] = by_path[c.field]  # the lab corrected its own result
            else:
                issues.append(Issue("conflict", f"{c.field}.valueQuantity: {c.message()} (or "
                                                "send it with status corrected)",
                                    f"{c.field}.valueQuantity"))
    if issues:
        raise FhirRejected(409, issues)
    added: set[str] = set()
    for subject_id, items in by_subject.items():
        if corrected := [o for o in items if o.path in corrections]:
            await _apply_corrections(uow, principal, subject_id, corrected)
            added.update(o.path for o in corrected)
        stored = await ca125_store.store(
            uow, subject_id, [Incoming(o.path, o.value, "fhir", o.fhir_id)
                              for o in items if o.path not in corrections], principal.sub)
        added |= stored.added_fields
        if any(o.path in added for o in items):
            await recompute(uow, subjects[subject_id], "fhir")  # none while awaiting screening
    await uow.commit()
    return StoreResult(fresh=[o.path in added for o in parsed],
                       awaiting=frozenset(s for s, subject in subjects.items()
                                          if subject.awaiting_screening))


async def _apply_corrections(uow: UoW, principal: Principal, subject_id: str,
                             corrected: list[ParsedObservation]) -> None:
    measurements = {m.effective_date: m for m in await measurements_of(uow, subject_id)}
    for obs in corrected:
        reason = (f"FHIR Observation {obs.fhir_id or '(no id)'} sent with status {obs.status} "
                  "by the laboratory")
        ca125_store.correct(uow, measurements[obs.value.effective_date], obs.value, reason,
                            principal.sub)


def _location(obs: ParsedObservation) -> str:
    return f"Observation/{obs.fhir_id or f'ca125-{obs.subject_id}-{obs.value.effective_date}'}"


def _status_header(response: JSONResponse, result: StoreResult) -> None:
    response.headers[SUBJECT_STATUS_HEADER] = ("awaiting_screening" if result.awaiting
                                               else "screened")


@router.post("/Observation", summary="Send one CA-125 result as a FHIR R4 Observation",
             description="Stores the Observation (201; 200 when already known)." + _CREATED_EARLY,
             openapi_extra=_BODY, status_code=201, response_class=JSONResponse,
             responses={201: {"description": "Stored (200: already known)",
                              "content": {FHIR_JSON: {}}}, **_RESPONSES})
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
             openapi_extra=_BODY, response_class=JSONResponse,
             responses={200: {"description": "transaction-response / batch-response Bundle",
                              "content": {FHIR_JSON: {}}},
                        413: {"description": "OperationOutcome: too many entries (the limit "
                                             "is named)", "content": {FHIR_JSON: {}}},
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
