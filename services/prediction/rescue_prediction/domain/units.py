"""CA-125 input normalisation: units, LOINC codes and detection-limit flags.

Only serum/plasma CA-125 in U/mL or kU/L (numerically identical) feeds the kinetics; anything
else is rejected rather than converted, because a wrong unit or a body-fluid assay would silently
corrupt K. The original unit string is kept for audit.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Accepted units (compared case-insensitively, labs write "U/ml") → factor to U/mL.
UNIT_FACTORS: dict[str, float] = {"u/ml": 1.0, "ku/l": 1.0}

#: Serum/plasma CA-125 LOINC codes usable for kinetics (10334-1 is the default).
KINETICS_LOINC: dict[str, str] = {
    "10334-1": "Cancer Ag 125 [Units/volume] in Serum or Plasma",
    "83082-8": "Cancer Ag 125 [Units/volume] in Serum or Plasma by Immunoassay",
}
#: Known CA-125 codes that must not be used for kinetics, with why.
REJECTED_LOINC: dict[str, str] = {
    "11210-2": "CA-125 in body fluid, not serum/plasma",
}
DEFAULT_LOINC = "10334-1"
#: The largest CA-125 value accepted (U/mL); larger ones are typing errors.
MAX_VALUE_U_ML = 1_000_000.0

Censoring = Literal["below_detection_limit", "above_measurement_range"]
Comparator = Literal["<", "<=", ">", ">="]


class Ca125InputError(ValueError):
    """A CA-125 value that must not enter the kinetics (bad unit or LOINC code)."""


class LoincCheck(BaseModel):
    """Whether a LOINC code is usable for kinetics, and why (for a 422 message or an audit)."""

    model_config = ConfigDict(frozen=True)

    code: str
    accepted: bool
    reason: str


def check_loinc_for_kinetics(code: str) -> LoincCheck:
    """Accept serum/plasma CA-125 codes only; body fluid (11210-2) and unknown codes are refused."""
    code = code.strip()
    if code in KINETICS_LOINC:
        return LoincCheck(code=code, accepted=True, reason=KINETICS_LOINC[code])
    if code in REJECTED_LOINC:
        return LoincCheck(code=code, accepted=False, reason=REJECTED_LOINC[code])
    return LoincCheck(code=code, accepted=False, reason="not a serum/plasma CA-125 LOINC code")


def to_u_ml(value: float, unit: str) -> float:
    """Value in U/mL; raises Ca125InputError for any unit other than U/mL or kU/L."""
    factor = UNIT_FACTORS.get(unit.strip().lower())
    if factor is None:
        raise Ca125InputError(f"CA-125 unit {unit!r} not accepted (use U/mL or kU/L)")
    return value * factor


class Ca125Observation(BaseModel):
    """A CA-125 result as received (FHIR Observation shape: date, valueQuantity, LOINC code).

    ``comparator`` is FHIR's Quantity.comparator: "<5" from the lab means below detection limit.
    """

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    effective_date: date
    value: float = Field(ge=0)
    unit: str
    loinc: str = DEFAULT_LOINC
    comparator: Comparator | None = None


class NormalisedCa125(BaseModel):
    """A CA-125 value in U/mL with its original unit and any censoring made explicit."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    effective_date: date
    value_u_ml: float = Field(ge=0)
    original_value: float
    original_unit: str
    loinc: str = DEFAULT_LOINC
    censoring: Censoring | None = None


def normalise_observation(
    obs: Ca125Observation, detection_limit_u_ml: float | None = None
) -> NormalisedCa125:
    """Normalise unit and LOINC; flag censored values (comparator, or below the lab's limit).

    Raises Ca125InputError when the unit or the LOINC code is not accepted for kinetics.
    """
    check = check_loinc_for_kinetics(obs.loinc)
    if not check.accepted:
        raise Ca125InputError(f"LOINC {check.code} rejected for kinetics: {check.reason}")
    value = to_u_ml(obs.value, obs.unit)
    censoring: Censoring | None = None
    if obs.comparator in ("<", "<=") or (
        detection_limit_u_ml is not None and value < detection_limit_u_ml
    ):
        censoring = "below_detection_limit"
    elif obs.comparator in (">", ">="):
        censoring = "above_measurement_range"
    return NormalisedCa125(
        effective_date=obs.effective_date,
        value_u_ml=value,
        original_value=obs.value,
        original_unit=obs.unit,
        loinc=check.code,
        censoring=censoring,
    )
