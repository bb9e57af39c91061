"""FHIR R4 CA-125 Observations → normalised values, or OperationOutcome issues saying why not.

Resources are validated with the `fhir.resources` models (R4B, identical to R4 for Observation
and Bundle), then checked against what the kinetics need: a final result, a serum/plasma CA-125
LOINC code, a UCUM valueQuantity in U/mL or kU/L within range, an effectiveDateTime, and the
subject as `Patient/<subject_id>` (or an identifier whose value is the subject id).

Pure and synchronous (CPU-bound for a large Bundle): the endpoints run it off the event loop.
Bodies are decoded with guards (nesting depth, number of Bundle entries) before any model
validation, so a hostile body costs little and never reaches the validators.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from pydantic import ValidationError

from rescue_prediction.domain.model import SUBJECT_ID_PATTERN
from rescue_prediction.domain.units import (
    KINETICS_LOINC,
    MAX_VALUE_U_ML,
    REJECTED_LOINC,
    UNIT_FACTORS,
    Ca125Observation,
    NormalisedCa125,
    normalise_observation,
)
from rescue_shared.clock import latest_calendar_date

FHIR_JSON = "application/fhir+json"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
ACCEPTED_STATUS = ("final", "amended", "corrected")
CORRECTING_STATUS = ("amended", "corrected")  # replace a stored value of the same day
#: A CA-125 Observation in a Bundle is about 8 levels deep; nothing legitimate comes near this.
MAX_JSON_DEPTH = 64
IssueCode = Literal["invalid", "value", "required", "not-supported", "not-found", "conflict",
                    "structure", "too-costly", "informational"]


@dataclass(frozen=True)
class Issue:
    code: IssueCode
    diagnostics: str
    expression: str


@dataclass(frozen=True)
class ParsedObservation:
    path: str  # FHIRPath of the resource, e.g. "Observation" or "Bundle.entry[2].resource"
    subject_id: str
    fhir_id: str | None
    value: NormalisedCa125
    status: str = "final"  # amended / corrected: replaces a stored value of the same day


class FhirRejected(Exception):
    """The request cannot be accepted; `status` and the issues become an OperationOutcome."""

    def __init__(self, status: int, issues: list[Issue]) -> None:
        super().__init__("; ".join(i.diagnostics for i in issues))
        self.status = status
        self.issues = issues


def operation_outcome(issues: list[Issue], severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome (validated by the FHIR model) as JSON."""
    outcome = OperationOutcome.model_validate({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": i.code, "diagnostics": i.diagnostics,
                   "expression": [i.expression]} for i in issues],
    })
    return outcome.model_dump(mode="json", exclude_none=True)


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests objects/arrays deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = (node.values() if isinstance(node, dict)
                    else node if isinstance(node, list) else None)
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


def decode_json(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON body, or FhirRejected(400): not JSON, or nested deeper than any FHIR resource.

    The JSON decoder recurses; a body nested ~1,000 levels deep raises RecursionError, which
    is a bad request like any other unparseable body, not a server error.
    """
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise FhirRejected(400, [Issue("structure", "body nested too deeply to be a FHIR "
                                                    f"resource (at most {max_depth} levels)",
                                       "Resource")]) from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise FhirRejected(400, [Issue("structure", f"body is not JSON: {exc}",
                                       "Resource")]) from exc
    if _depth_exceeds(value, max_depth):
        raise FhirRejected(400, [Issue("structure", "body nested too deeply to be a FHIR "
                                                    f"resource (at most {max_depth} levels)",
                                       "Resource")])
    return value


def _fhirpath(prefix: str, loc: tuple[Any, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _validation_issues(prefix: str, exc: ValidationError) -> list[Issue]:
    return [Issue("required" if e["type"] == "missing" else "invalid",
                  f"{_fhirpath(prefix, tuple(e['loc']))}: {e['msg']}",
                  _fhirpath(prefix, tuple(e["loc"])))
            for e in exc.errors()]


def _subject_id(obs: Observation) -> str | None:
    ref = obs.subject
    if ref is None:
        return None
    if ref.reference:
        kind, _, ident = ref.reference.partition("/")
        return ident if kind == "Patient" and ident else None
    if ref.identifier is not None and ref.identifier.value:
        return str(ref.identifier.value)
    return None


def _loinc_issue(obs: Observation, p: str) -> tuple[str | None, Issue | None]:
    codes = [c.code for c in (obs.code.coding or []) if c.system == LOINC_SYSTEM and c.code]
    accepted = [c for c in codes if c in KINETICS_LOINC]
    if accepted:
        return accepted[0], None
    rejected = [c for c in codes if c in REJECTED_LOINC]
    why = (f"LOINC {rejected[0]} is {REJECTED_LOINC[rejected[0]]}: refused for kinetics"
           if rejected else "no serum/plasma CA-125 LOINC coding")
    return None, Issue("value", f"{p}.code: {why}; expected system {LOINC_SYSTEM} with code "
                                f"{' or '.join(KINETICS_LOINC)}", f"{p}.code")


def _effective_date(obs: Observation, p: str, issues: list[Issue]) -> date | None:
    effective = obs.effectiveDateTime
    if effective is None:
        issues.append(Issue("required", f"{p}.effectiveDateTime is required (the draw date)",
                            f"{p}.effectiveDateTime"))
        return None
    if not isinstance(effective, date):  # FHIR allows "2026" or "2026-03": not a draw date
        issues.append(Issue("value", f"{p}.effectiveDateTime {effective} is not a full date "
                                     "(YYYY-MM-DD or a date-time)", f"{p}.effectiveDateTime"))
        return None
    # A date-time counts on the calendar date written in it (the site's own offset).
    day = effective.date() if isinstance(effective, datetime) else effective
    if day > latest_calendar_date():
        issues.append(Issue("value", f"{p}.effectiveDateTime {day} is in the future",
                            f"{p}.effectiveDateTime"))
        return None
    return day


def _quantity(obs: Observation, p: str, issues: list[Issue]) -> tuple[float, str, str | None]:
    q = obs.valueQuantity
    if q is None or q.value is None:
        issues.append(Issue("required", f"{p}.valueQuantity with a value is required",
                            f"{p}.valueQuantity"))
        return 0.0, "", None
    value = float(q.value)
    if not 0 < value <= MAX_VALUE_U_ML:
        issues.append(Issue("value", f"{p}.valueQuantity.value {value:g} out of range "
                                     f"(> 0 and <= {MAX_VALUE_U_ML:,.0f})",
                            f"{p}.valueQuantity.value"))
    if q.system != UCUM_SYSTEM:
        issues.append(Issue("value", f"{p}.valueQuantity.system must be {UCUM_SYSTEM} (UCUM)",
                            f"{p}.valueQuantity.system"))
    unit = q.code or q.unit or ""
    if unit.strip().lower() not in UNIT_FACTORS:
        issues.append(Issue("value", f"{p}.valueQuantity.code {unit!r} not accepted "
                                     "(UCUM U/mL or kU/L)", f"{p}.valueQuantity.code"))
    return value, unit, q.comparator


def parse_observation(resource: Any, p: str = "Observation") -> ParsedObservation:
    """One CA-125 Observation, or FhirRejected(422) naming every problem found."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        raise FhirRejected(422, [Issue("not-supported", f"{p}: expected an Observation, got "
                                                        f"{kind or 'no resourceType'}", p)])
    try:
        obs = Observation.model_validate(resource)
    except ValidationError as exc:
        raise FhirRejected(422, _validation_issues(p, exc)) from exc
    issues: list[Issue] = []
    if obs.status not in ACCEPTED_STATUS:
        issues.append(Issue("value", f"{p}.status {obs.status!r}: only a final result "
                                     f"({', '.join(ACCEPTED_STATUS)}) feeds the kinetics",
                            f"{p}.status"))
    loinc, loinc_issue = _loinc_issue(obs, p)
    if loinc_issue:
        issues.append(loinc_issue)
    value, unit, comparator = _quantity(obs, p, issues)
    day = _effective_date(obs, p, issues)
    subject_id = _subject_id(obs)
    if subject_id is None:
        issues.append(Issue("required", f"{p}.subject must reference Patient/<subject_id> "
                                        "(or carry an identifier)", f"{p}.subject"))
    elif not re.fullmatch(SUBJECT_ID_PATTERN, subject_id):
        issues.append(Issue("value", f"{p}.subject: {subject_id[:100]!r} is not a subject "
                                     "pseudonym (letters, digits, '.', '_', '-'; at most 64)",
                            f"{p}.subject"))
    if issues:
        raise FhirRejected(422, issues)
    assert loinc is not None and day is not None and subject_id is not None
    normalised = normalise_observation(Ca125Observation(
        effective_date=day, value=value, unit=unit, loinc=loinc,
        comparator=comparator))
    return ParsedObservation(p, subject_id, obs.id, normalised, str(obs.status))


def parse_bundle(resource: Any, max_entries: int) -> tuple[str, list[ParsedObservation]]:
    """A transaction/batch Bundle of Observations; any bad entry rejects the whole Bundle.

    More than `max_entries` entries is FhirRejected(413), decided before any validation.
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Bundle":
        raise FhirRejected(422, [Issue("not-supported", "expected a Bundle", "Bundle")])
    raw_entries = resource.get("entry")
    if isinstance(raw_entries, list) and len(raw_entries) > max_entries:
        raise FhirRejected(413, [Issue(
            "too-costly", f"Bundle.entry: {len(raw_entries)} entries, at most {max_entries} "
                          "per Bundle (setting FHIR_BUNDLE_MAX_ENTRIES): split it into smaller "
                          "Bundles", "Bundle.entry")])
    # The Bundle's own elements; each entry's resource is validated once, below, as an
    # Observation (validating it inside the Bundle too would double the cost).
    shell = dict(resource)
    if isinstance(raw_entries, list):
        shell["entry"] = [{k: v for k, v in e.items() if k != "resource"}
                          if isinstance(e, dict) else e for e in raw_entries]
    try:
        bundle = Bundle.model_validate(shell)
    except ValidationError as exc:
        raise FhirRejected(422, _validation_issues("Bundle", exc)) from exc
    if bundle.type not in ("transaction", "batch"):
        raise FhirRejected(422, [Issue("value", f"Bundle.type {bundle.type!r}: expected "
                                                "transaction or batch", "Bundle.type")])
    entries = resource.get("entry") or []
    if not entries:
        raise FhirRejected(422, [Issue("required", "Bundle.entry: no Observation", "Bundle.entry")])
    parsed, issues = [], []
    for i, entry in enumerate(entries):
        p = f"Bundle.entry[{i}]"
        method = (entry.get("request") or {}).get("method")
        if method not in (None, "POST", "PUT"):
            issues.append(Issue("not-supported", f"{p}.request.method {method}: only POST/PUT",
                                f"{p}.request.method"))
            continue
        try:
            parsed.append(parse_observation(entry.get("resource"), f"{p}.resource"))
        except FhirRejected as exc:
            issues.extend(exc.issues)
    if issues:
        raise FhirRejected(422, issues)
    return str(bundle.type), parsed
