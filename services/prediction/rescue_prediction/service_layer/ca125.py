"""A subject's CA-125 values: recorded (JSON or FHIR), corrected, listed.

One value per day: re-sending a known value changes nothing, a different value is a conflict
(a correction says why instead). All or nothing: any refused value and nothing is stored. The
series is read once per request and handed to the prediction (docs/protocol/kelim.md;
docs/protocol/data-standards.md § CA-125 as FHIR R4 Observations).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rescue_prediction.domain.audit_records import ca125_record
from rescue_prediction.domain.model import (
    Ca125Correction,
    PredictionVersion,
    StoredCa125,
    Subject,
    correct_value,
)
from rescue_prediction.domain.series import Incoming, find_conflicts, too_early
from rescue_prediction.domain.units import (
    Ca125Observation,
    NormalisedCa125,
    normalise_observation,
)
from rescue_prediction.service_layer.access import (
    Caller,
    lock_own_subject,
    now,
    own_subject,
    visible_subject,
)
from rescue_prediction.service_layer.predictions import recompute_prediction
from rescue_prediction.service_layer.unit_of_work import PredictionUnitOfWork
from rescue_shared.audit.chain import Actor, AuditDraft
from rescue_shared.audit.trail import actor_of
from rescue_shared.errors import Conflict, NotFound, invalid_fields
from rescue_shared.validation.reasons import MIN_REASON_WORDS, reason_is_meaningful

#: FHIR Observation statuses by which a laboratory replaces its own result of the same day.
CORRECTING_STATUS = ("amended", "corrected")


def _lookback_days(uow: PredictionUnitOfWork) -> float:
    return uow.protocol.kinetics.baseline_lookback_days.value


def _stored(subject_id: str, item: Incoming, received_by: str) -> StoredCa125:
    v = item.value
    return StoredCa125(
        subject_id=subject_id, effective_date=v.effective_date, value_u_ml=v.value_u_ml,
        original_value=v.original_value, original_unit=v.original_unit, loinc=v.loinc,
        censoring=v.censoring, source=item.source, fhir_id=item.fhir_id,
        received_by=received_by, received_at=now())


async def _store_new(uow: PredictionUnitOfWork, subject: Subject, series: list[StoredCa125],
                     incoming: Sequence[Incoming], actor: Actor) -> set[str]:
    """Add the values whose day is not known yet (to the store and to `series`, kept by date;
    audited as one `ca125.recorded` listing them); the fields added. Call after
    `find_conflicts` found none."""
    known = {m.effective_date for m in series}
    added: dict[str, StoredCa125] = {}
    for item in incoming:
        if item.value.effective_date in known:
            continue
        known.add(item.value.effective_date)
        value = added[item.field] = _stored(subject.subject_id, item, actor.sub)
        await uow.ca125.add(value)
        series.append(value)
    series.sort(key=lambda m: m.effective_date)
    if added:
        uow.audit.record(AuditDraft(
            action="ca125.recorded", actor=actor, site_id=subject.site_id,
            subject_id=subject.subject_id,
            after={"values": [ca125_record(v) for v in added.values()]}))
    return set(added)


@dataclass(frozen=True)
class Ca125Values:
    """CA-125 values of one subject sent as JSON, with the chemotherapy start (day 0)."""

    chemotherapy_start_date: date
    measurements: Sequence[Ca125Observation]


@dataclass(frozen=True)
class Ca125Recorded:
    subject: Subject
    series: list[StoredCa125]
    added: int
    already_known: int
    start_is_new: bool
    prediction: PredictionVersion | None
    new_prediction_version: bool


async def record_ca125(uow: PredictionUnitOfWork, caller: Caller, subject_id: str,
                       values: Ca125Values) -> Ca125Recorded:
    """Store the values (normalised to U/mL, original kept) and recompute the prediction.

    Refused (nothing stored): another site's subject (NotFound), a start date differing from the
    recorded one or a value differing from the known one of its day (Conflict), a date more than
    the baseline look-back before the start, also of a value stored earlier without a start
    (Invalid). A subject not screened yet is kept for the caller's site (provisional).
    """
    subject = await lock_own_subject(uow, caller, subject_id)
    start = values.chemotherapy_start_date
    if subject.chemotherapy_start_date not in (None, start):
        raise Conflict(f"chemotherapy_start_date {start} differs from the recorded "
                       f"{subject.chemotherapy_start_date}", title="Chemotherapy start differs",
                       errors=[{"field": "chemotherapy_start_date", "rule": "conflict",
                                "message": "differs from the recorded start date"}])
    lookback = _lookback_days(uow)
    errors: list[dict[str, Any]] = []
    incoming = []
    for i, obs in enumerate(values.measurements):
        why = too_early(obs.effective_date, start, lookback)
        if why:
            errors.append({"field": f"measurements.{i}.date", "rule": "before_window",
                           "message": why})
        incoming.append(Incoming(f"measurements.{i}", normalise_observation(obs), "json"))
    series = await uow.ca125.series(subject_id)
    if subject.chemotherapy_start_date is None:
        # Values sent earlier through FHIR (which carries no start) must fit the new start too.
        errors += [{"field": "chemotherapy_start_date", "rule": "before_window",
                    "message": f"the stored CA-125 value of {why}"}
                   for m in series if (why := too_early(m.effective_date, start, lookback))]
    if errors:
        raise invalid_fields(errors)
    conflicts = find_conflicts(series, incoming)
    if conflicts:
        raise Conflict(conflicts[0].message(), title="Conflicting CA-125 value",
                       errors=[{"field": f"{c.field}.value", "rule": "conflict",
                                "message": c.message()} for c in conflicts])
    actor = actor_of(caller)
    start_is_new = subject.chemotherapy_start_date is None
    subject.chemotherapy_start_date = start
    if start_is_new:
        subject.chemotherapy_start_recorded_by = caller.sub
        uow.audit.record(AuditDraft(
            action="chemotherapy_start.recorded", actor=actor, site_id=subject.site_id,
            subject_id=subject_id, after={"chemotherapy_start_date": start}))
    await uow.subjects.save(subject)
    added = len(await _store_new(uow, subject, series, incoming, actor))
    if added or (start_is_new and series):
        prediction, new_version = await recompute_prediction(
            uow, subject, "ca125", series=series,
            official=await uow.official_kelims.latest(subject_id), actor=actor)
    else:
        prediction, new_version = await uow.predictions.in_force(subject_id), False
    await uow.commit()
    return Ca125Recorded(subject=subject, series=series, added=added,
                         already_known=len(incoming) - added, start_is_new=start_is_new,
                         prediction=prediction, new_prediction_version=new_version)


@dataclass(frozen=True)
class LabResult:
    """A CA-125 result as a laboratory system reports it (a FHIR Observation)."""

    path: str  # where it sits in the request, e.g. "Observation" or "Bundle.entry[2].resource"
    subject_id: str
    fhir_id: str | None
    value: NormalisedCa125
    status: str = "final"  # amended / corrected: replaces a stored value of the same day


@dataclass(frozen=True)
class ObservationsRecorded:
    fresh: list[bool]  # per result, in the request's order: newly added (or corrected)
    awaiting: frozenset[str]  # subjects still awaiting their screening


def _issue(field: str, rule: str, message: str) -> dict[str, Any]:
    return {"field": field, "rule": rule, "message": message}


async def record_fhir_observations(uow: PredictionUnitOfWork, caller: Caller,
                             results: Sequence[LabResult]) -> ObservationsRecorded:
    """Store laboratory results of one or more subjects, all or nothing.

    Refused with one error per result (`field`: its FHIRPath, `rule`: a FHIR issue code):
    another site's subject (NotFound, with any other problem found), a date before the baseline
    window (Invalid), a value differing from the known one of its day unless the laboratory
    corrects it (status corrected/amended: the stored value is replaced, the earlier one kept in
    the correction history) (Conflict).
    """
    by_subject: dict[str, list[LabResult]] = defaultdict(list)
    for r in results:
        by_subject[r.subject_id].append(r)
    issues: list[dict[str, Any]] = []
    subjects: dict[str, Subject] = {}
    not_found = False
    lookback = _lookback_days(uow)
    # Locked in a fixed order, so two Bundles naming the same subjects cannot deadlock. A subject
    # not known yet is created for the caller's site.
    for subject_id, items in sorted(by_subject.items()):
        subject = await own_subject(uow, caller, subject_id)
        if subject is None:
            not_found = True
            issues += [_issue(f"{r.path}.subject", "not-found",
                              f"{r.path}.subject: Patient/{subject_id} not found at your site")
                       for r in items]
            continue
        subjects[subject_id] = subject
        issues += [_issue(f"{r.path}.effectiveDateTime", "value",
                          f"{r.path}.effectiveDateTime: {why}")
                   for r in items
                   if (why := too_early(r.value.effective_date, subject.chemotherapy_start_date,
                                        lookback))]
    if issues:
        detail = "; ".join(i["message"] for i in issues)
        raise NotFound(detail, errors=issues) if not_found else invalid_fields(issues)
    series = {s: await uow.ca125.series(s) for s in by_subject}
    corrections: dict[str, LabResult] = {}
    for subject_id, items in by_subject.items():
        incoming = [Incoming(r.path, r.value, "fhir", r.fhir_id) for r in items]
        by_path = {r.path: r for r in items}
        for c in find_conflicts(series[subject_id], incoming):
            if by_path[c.field].status in CORRECTING_STATUS:
                corrections[c.field] = by_path[c.field]  # the lab corrected its own result
            else:
                issues.append(_issue(f"{c.field}.valueQuantity", "conflict",
                                     f"{c.field}.valueQuantity: {c.message()} (or send it with "
                                     "status corrected)"))
    if issues:
        raise Conflict("; ".join(i["message"] for i in issues), errors=issues)
    added: set[str] = set()
    actor = actor_of(caller)
    for subject_id, items in by_subject.items():
        values = series[subject_id]
        for r in items:
            if r.path in corrections:
                reason = (f"FHIR Observation {r.fhir_id or '(no id)'} sent with status "
                          f"{r.status} by the laboratory")
                await _correct(uow, subjects[subject_id], values, r.value, reason, actor)
                added.add(r.path)
        added |= await _store_new(
            uow, subjects[subject_id], values,
            [Incoming(r.path, r.value, "fhir", r.fhir_id)
             for r in items if r.path not in corrections], actor)
        if any(r.path in added for r in items):  # none while awaiting screening
            await recompute_prediction(uow, subjects[subject_id], "fhir", series=values,
                                       official=await uow.official_kelims.latest(subject_id),
                                       actor=actor)
    await uow.commit()
    return ObservationsRecorded(
        fresh=[r.path in added for r in results],
        awaiting=frozenset(s for s, subject in subjects.items() if subject.awaiting_screening))


async def _correct(uow: PredictionUnitOfWork, subject: Subject, series: list[StoredCa125],
                   new: NormalisedCa125, reason: str, actor: Actor) -> Ca125Correction:
    """Give the stored value of `new`'s day its corrected figures (in the store and in
    `series`); the earlier value goes to the history and to the audit trail
    (`ca125.corrected`, the old value as before, the new as after, and why)."""
    i = next(i for i, m in enumerate(series) if m.effective_date == new.effective_date)
    corrected, correction = correct_value(series[i], new, reason, actor.sub, now())
    uow.audit.record(AuditDraft(action="ca125.corrected", actor=actor, site_id=subject.site_id,
                                subject_id=subject.subject_id, reason=reason,
                                before=ca125_record(series[i]),
                                after=ca125_record(corrected)))
    series[i] = corrected
    await uow.ca125.replace(corrected)
    await uow.corrections.add(correction)
    return correction


@dataclass(frozen=True)
class Ca125CorrectionRequest:
    """The corrected result for a day already recorded, and why."""

    value: Ca125Observation
    reason: str


@dataclass(frozen=True)
class Ca125Corrected:
    subject: Subject
    correction: Ca125Correction
    prediction: PredictionVersion | None
    new_prediction_version: bool


async def correct_ca125(uow: PredictionUnitOfWork, caller: Caller, subject_id: str,
                        request: Ca125CorrectionRequest) -> Ca125Corrected:
    """Correct a stored value; the earlier one is kept, the prediction recomputed.

    Refused: a reason of fewer than three words of letters (Invalid), another site's or an
    unknown subject, or no value on that day (NotFound), the value already stored (Conflict).
    A subject awaiting her screening may be corrected by her site too (no prediction until then).
    """
    reason = request.reason.strip()
    if not reason_is_meaningful(reason):
        raise invalid_fields([{
            "field": "reason", "rule": "min_words",
            "message": f"give the reason in at least {MIN_REASON_WORDS} words of two or more "
                       "letters"}])
    subject = await lock_own_subject(uow, caller, subject_id, create=False)
    day = request.value.effective_date
    series = await uow.ca125.series(subject_id)
    stored = next((m for m in series if m.effective_date == day), None)
    if stored is None:
        raise NotFound(f"no CA-125 value of subject {subject_id} on {day} to correct; send a new "
                       "value with POST /v1/subjects/{id}/ca125",
                       errors=[{"field": "date", "rule": "not_found",
                                "message": f"no value recorded on {day}"}])
    new = normalise_observation(request.value)
    if (new.value_u_ml, new.censoring) == (stored.value_u_ml, stored.censoring):
        raise Conflict(f"CA-125 on {day} already is {stored.value_u_ml:g} U/mL",
                       title="Nothing to correct",
                       errors=[{"field": "value", "rule": "unchanged",
                                "message": "the corrected value equals the stored one"}])
    actor = actor_of(caller)
    correction = await _correct(uow, subject, series, new, reason, actor)
    prediction, new_version = await recompute_prediction(
        uow, subject, "correction", series=series,
        official=await uow.official_kelims.latest(subject_id), actor=actor)
    await uow.commit()
    return Ca125Corrected(subject=subject, correction=correction, prediction=prediction,
                          new_prediction_version=new_version)


async def list_ca125(uow: PredictionUnitOfWork, caller: Caller,
                     subject_id: str) -> tuple[Subject, list[StoredCa125]]:
    """The subject and her values, by date."""
    subject = await visible_subject(uow, caller, subject_id)
    return subject, await uow.ca125.series(subject_id)


async def list_corrections(uow: PredictionUnitOfWork, caller: Caller,
                           subject_id: str) -> list[Ca125Correction]:
    """Every correction of her values, oldest first."""
    await visible_subject(uow, caller, subject_id)
    return await uow.corrections.of_subject(subject_id)
