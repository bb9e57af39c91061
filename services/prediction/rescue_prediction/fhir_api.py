"""FHIR R4 endpoints: CA-125 Observations, alone or in a transaction/batch Bundle.

All or nothing: any bad entry → an OperationOutcome naming it (422, 404 for an unknown or another
site's subject, 409 for a value conflicting with a stored one) and nothing is stored.
"""

from __future__ import annotations

import json
from collections import defaultdict
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
    operation_outcome,
    parse_bundle,
    parse_observation,
)
from rescue_prediction.predictions import measurements_of, recompute
from rescue_prediction.tables import PredictionSubject
from rescue_shared.auth import Principal
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1/fhir", tags=["FHIR"])
_BODY = {"requestBody": {"required": True, "content": {FHIR_JSON: {"schema": {"type": "object"}}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "OperationOutcome: what is wrong and where (FHIRPath)",
          "content": {FHIR_JSON: {}}},
    404: {"description": "OperationOutcome: subject not screened (or another site's)",
          "content": {FHIR_JSON: {}}},
    409: {"description": "OperationOutcome: a value conflicts with a stored one",
          "content": {FHIR_JSON: {}}},
    415: {"description": "OperationOutcome: send application/fhir+json",
          "content": {FHIR_JSON: {}}},
}


def fhir_response(body: dict[str, Any], status: int) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


async def _read(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (FHIR_JSON, "application/json"):
        raise FhirRejected(415, [Issue("not-supported", f"Content-Type {media or 'missing'}: "
                                                        f"send {FHIR_JSON}", "Resource")])
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FhirRejected(422, [Issue("structure", f"body is not JSON: {exc}",
                                       "Resource")]) from exc


async def _store(uow: UoW, principal: Principal,
                 parsed: list[ParsedObservation]) -> list[bool]:
    """Store the observations (all or nothing); True for each one newly added."""
    by_subject: dict[str, list[ParsedObservation]] = defaultdict(list)
    for obs in parsed:
        by_subject[obs.subject_id].append(obs)
    issues: list[Issue] = []
    subjects: dict[str, PredictionSubject] = {}
    status = 422
    # Locked in a fixed order, so two Bundles naming the same subjects cannot deadlock.
    for subject_id, items in sorted(by_subject.items()):
        subject = await uow.session.get(PredictionSubject, subject_id, with_for_update=True)
        if subject is None or principal.site_id != subject.site_id:
            status = 404
            issues += [Issue("not-found", f"{o.path}.subject: Patient/{subject_id} not found "
                                          "(not screened: screen her with eligibility first)",
                             f"{o.path}.subject") for o in items]
            continue
        subjects[subject_id] = subject
        issues += [Issue("value", f"{o.path}.effectiveDateTime: {why}",
                         f"{o.path}.effectiveDateTime")
                   for o in items
                   if (why := ca125_store.too_early(o.value.effective_date,
                                                    subject.chemotherapy_start_date))]
    if issues:
        raise FhirRejected(status if status == 404 else 422, issues)
    fresh: list[bool] = []
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
        for obs in items:
            if obs.path in corrections:
                continue
            stored = await ca125_store.store(
                uow, subject_id, [Incoming(obs.path, obs.value, "fhir", obs.fhir_id)],
                principal.sub)
            if stored.added:
                added.add(obs.path)
        if any(o.path in added for o in items):
            await recompute(uow, subjects[subject_id], "fhir")
    await uow.commit()
    fresh = [o.path in added for o in parsed]
    return fresh


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


@router.post("/Observation", summary="Send one CA-125 result as a FHIR R4 Observation",
             openapi_extra=_BODY, status_code=201, response_class=JSONResponse,
             responses={201: {"description": "Stored (200: already known)",
                              "content": {FHIR_JSON: {}}}, **_RESPONSES})
async def post_observation(request: Request, principal: SiteWriter, uow: UoW) -> JSONResponse:
    try:
        resource = await _read(request)
        parsed = parse_observation(resource)
        fresh = await _store(uow, principal, [parsed])
    except FhirRejected as exc:
        return fhir_response(operation_outcome(exc.issues), exc.status)
    body = dict(resource)
    body.setdefault("id", _location(parsed).split("/", 1)[1])
    response = fhir_response(body, 201 if fresh[0] else 200)
    response.headers["Location"] = _location(parsed)
    return response


@router.post("", summary="Send a transaction or batch Bundle of CA-125 Observations",
             openapi_extra=_BODY, response_class=JSONResponse,
             responses={200: {"description": "transaction-response / batch-response Bundle",
                              "content": {FHIR_JSON: {}}}, **_RESPONSES})
async def post_bundle(request: Request, principal: SiteWriter, uow: UoW) -> JSONResponse:
    try:
        kind, parsed = parse_bundle(await _read(request))
        fresh = await _store(uow, principal, parsed)
    except FhirRejected as exc:
        return fhir_response(operation_outcome(exc.issues), exc.status)
    return fhir_response({
        "resourceType": "Bundle", "type": f"{kind}-response",
        "entry": [{"response": {"status": "201 Created" if new else "200 OK",
                                "location": _location(obs)}}
                  for obs, new in zip(parsed, fresh, strict=True)],
    }, 200)
