"""A subject's CA-125 series: one value per day, nothing before the baseline window.

Shared by the JSON and the FHIR writes (docs/protocol/kelim.md § What the platform computes,
step 2; docs/protocol/data-standards.md § CA-125 as FHIR R4 Observations). Each caller turns the
conflicts and early dates found here into its own error format.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rescue_prediction.domain.model import Ca125Source, StoredCa125
from rescue_prediction.domain.units import NormalisedCa125


@dataclass(frozen=True)
class Incoming:
    """One value to store, with where it sits in the request (for error messages)."""

    field: str
    value: NormalisedCa125
    source: Ca125Source
    fhir_id: str | None = None


@dataclass(frozen=True)
class ValueConflict:
    """A value sent for a day whose known value (or qualifier) differs."""

    field: str
    date: date
    stored: str
    sent: str

    def message(self) -> str:
        return (f"CA-125 on {self.date} is already recorded as {self.stored}; {self.sent} "
                "conflicts (one value per day; to correct the stored one, "
                "POST /v1/subjects/{id}/ca125/corrections with a reason)")


def shown(value: NormalisedCa125 | StoredCa125) -> str:
    """The value as a lab reports it, with its detection-limit qualifier (e.g. '< 5 U/mL')."""
    qualifier = {"below_detection_limit": "< ", "above_measurement_range": "> "}.get(
        value.censoring or "", "")
    return f"{qualifier}{value.value_u_ml:g} U/mL"


def too_early(value_date: date, start: date | None, lookback_days: float) -> str | None:
    """Why a date is before the window the protocol allows, or None."""
    if start is None:
        return None
    earliest = start - timedelta(days=lookback_days)
    if value_date < earliest:
        return (f"{value_date} is more than {lookback_days:g} days before chemotherapy start "
                f"{start} (earliest accepted {earliest})")
    return None


def find_conflicts(series: Iterable[StoredCa125],
                   incoming: Sequence[Incoming]) -> list[ValueConflict]:
    """Incoming values that differ from the one known for their day (value or qualifier); two
    different values for one day in the same request conflict too."""
    known: dict[date, NormalisedCa125 | StoredCa125] = {m.effective_date: m for m in series}
    conflicts = []
    for item in incoming:
        d, sent = item.value.effective_date, item.value
        stored = known.setdefault(d, sent)
        if (stored.value_u_ml, stored.censoring) != (sent.value_u_ml, sent.censoring):
            conflicts.append(ValueConflict(item.field, d, shown(stored), shown(sent)))
    return conflicts
