"""Storing a subject's CA-125 values: one per day, idempotent, conflicts refused, all or nothing.

Shared by the JSON and the FHIR endpoints; the caller turns the returned problems into its own
error format (problem+json or OperationOutcome) and stores nothing when there is any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from rescue_prediction.domain.units import NormalisedCa125
from rescue_prediction.predictions import measurements_of, protocol
from rescue_prediction.tables import Ca125Correction, Ca125Measurement, PredictionSubject
from rescue_shared.auth import Principal
from rescue_shared.db.insert_if_absent import get_or_insert_locked
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.http.problems import Problem


@dataclass(frozen=True)
class Incoming:
    """One value to store, with where it sits in the request (for error messages)."""

    field: str
    value: NormalisedCa125
    source: str
    fhir_id: str | None = None


@dataclass(frozen=True)
class Conflict:
    field: str
    date: date
    stored: str
    sent: str

    def message(self) -> str:
        return (f"CA-125 on {self.date} is already recorded as {self.stored}; {self.sent} "
                "conflicts (one value per day; to correct the stored one, "
                "POST /v1/subjects/{id}/ca125/corrections with a reason)")


def _shown(value: NormalisedCa125 | Ca125Measurement) -> str:
    """The value as a lab reports it, with its detection-limit qualifier (e.g. '< 5 U/mL')."""
    qualifier = {"below_detection_limit": "< ", "above_measurement_range": "> "}.get(
        value.censoring or "", "")
    return f"{qualifier}{value.value_u_ml:g} U/mL"


@dataclass(frozen=True)
class Stored:
    added: int
    already_known: int
    added_fields: frozenset[str] = frozenset()


async def lock_subject(uow: UnitOfWork, principal: Principal, subject_id: str, *,
                       create: bool = True) -> PredictionSubject:
    """The subject, row-locked for the write; 404 when she is another site's.

    A subject this service does not know yet (her `eligibility.screened` has not arrived) is
    created as a provisional subject owned by the caller's site (`create`), so that no write is
    refused because of an event still on its way. Two first writes at once cannot collide: the
    row is inserted with ON CONFLICT DO NOTHING and then read locked, whoever inserted it. Only
    her own site writes her values: a trial-wide role does not extend writing rights.
    """
    subject = await lock_owned(uow, principal, subject_id, create=create)
    if subject is None:
        raise _not_found(subject_id)
    return subject


async def lock_owned(uow: UnitOfWork, principal: Principal, subject_id: str, *,
                     create: bool = True) -> PredictionSubject | None:
    """`lock_subject` without the error: None when she is another site's (or unknown and not
    `create`d, or the caller has no site)."""
    if principal.site_id is None:
        return None
    subject: PredictionSubject | None
    if create:
        subject, _ = await get_or_insert_locked(
            uow.session, PredictionSubject, subject_id,
            {"subject_id": subject_id, "site_id": principal.site_id})
    else:
        subject = await uow.session.get(PredictionSubject, subject_id, with_for_update=True,
                                        populate_existing=True)
    if subject is None or principal.site_id != subject.site_id:
        return None
    return subject


def _not_found(subject_id: str) -> Problem:
    # The same answer whether she is unknown or another site's: existence is not revealed.
    return Problem(404, "Not found", f"subject {subject_id} not found at your site")


def lookback_days() -> float:
    return protocol().kinetics.baseline_lookback_days.value


def too_early(value_date: date, start: date | None) -> str | None:
    """Why a date is before the window the protocol allows, or None."""
    if start is None:
        return None
    earliest = start - timedelta(days=lookback_days())
    if value_date < earliest:
        return (f"{value_date} is more than {lookback_days():g} days before chemotherapy start "
                f"{start} (earliest accepted {earliest})")
    return None


async def find_conflicts(uow: UnitOfWork, subject_id: str,
                         incoming: list[Incoming]) -> list[Conflict]:
    """Incoming values that differ from the one known for their day (value or qualifier)."""
    known: dict[date, NormalisedCa125 | Ca125Measurement] = {
        m.effective_date: m for m in await measurements_of(uow, subject_id)}
    conflicts = []
    for item in incoming:
        d, sent = item.value.effective_date, item.value
        stored = known.setdefault(d, sent)
        if (stored.value_u_ml, stored.censoring) != (sent.value_u_ml, sent.censoring):
            conflicts.append(Conflict(item.field, d, _shown(stored), _shown(sent)))
    return conflicts


def correct(uow: UnitOfWork, measurement: Ca125Measurement, new: NormalisedCa125, reason: str,
            corrected_by: str) -> Ca125Correction:
    """Give the stored measurement its corrected value; the earlier one goes to the history."""
    correction = Ca125Correction(
        subject_id=measurement.subject_id, effective_date=measurement.effective_date,
        previous_value_u_ml=measurement.value_u_ml,
        previous_original_value=measurement.original_value,
        previous_original_unit=measurement.original_unit,
        previous_censoring=measurement.censoring, value_u_ml=new.value_u_ml,
        original_value=new.original_value, original_unit=new.original_unit,
        censoring=new.censoring, reason=reason, corrected_by=corrected_by)
    measurement.value_u_ml, measurement.censoring = new.value_u_ml, new.censoring
    measurement.original_value, measurement.original_unit = new.original_value, new.original_unit
    measurement.loinc = new.loinc
    uow.session.add_all([correction, measurement])
    return correction


async def store(uow: UnitOfWork, subject_id: str, incoming: list[Incoming],
                received_by: str) -> Stored:
    """Add the values not yet known (call after `find_conflicts` found none)."""
    known = {m.effective_date for m in await measurements_of(uow, subject_id)}
    added_fields: set[str] = set()
    for item in incoming:
        v = item.value
        if v.effective_date in known:
            continue
        known.add(v.effective_date)
        added_fields.add(item.field)
        uow.session.add(Ca125Measurement(
            subject_id=subject_id, effective_date=v.effective_date, value_u_ml=v.value_u_ml,
            original_value=v.original_value, original_unit=v.original_unit, loinc=v.loinc,
            censoring=v.censoring, source=item.source, fhir_id=item.fhir_id,
            received_by=received_by,
        ))
    added = len(added_fields)
    return Stored(added=added, already_known=len(incoming) - added,
                  added_fields=frozenset(added_fields))
