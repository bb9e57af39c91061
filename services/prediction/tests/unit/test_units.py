"""CA-125 unit and LOINC normalisation."""

from datetime import date

import pytest

from rescue_prediction.domain.units import (
    Ca125InputError,
    Ca125Observation,
    check_loinc_for_kinetics,
    normalise_observation,
    to_u_ml,
)

D = date(2026, 1, 5)


@pytest.mark.parametrize("unit", ["U/mL", "kU/L", "U/ml", " ku/l "])
def test_accepted_units_are_numerically_identical(unit: str) -> None:
    assert to_u_ml(123.4, unit) == 123.4


@pytest.mark.parametrize("unit", ["IU/mL", "U/L", "ng/mL", "kU/mL", ""])
def test_other_units_are_rejected(unit: str) -> None:
    with pytest.raises(Ca125InputError):
        to_u_ml(10.0, unit)


def test_original_unit_is_kept() -> None:
    n = normalise_observation(Ca125Observation(effective_date=D, value=250, unit="kU/L"))
    assert (n.value_u_ml, n.original_value, n.original_unit) == (250, 250, "kU/L")
    assert n.censoring is None


@pytest.mark.parametrize("code", ["10334-1", "83082-8"])
def test_serum_loinc_accepted(code: str) -> None:
    assert check_loinc_for_kinetics(code).accepted


def test_body_fluid_loinc_rejected_with_reason() -> None:
    check = check_loinc_for_kinetics("11210-2")
    assert not check.accepted and "body fluid" in check.reason
    assert not check_loinc_for_kinetics("2345-7").accepted
    with pytest.raises(Ca125InputError, match="11210-2"):
        normalise_observation(
            Ca125Observation(effective_date=D, value=50, unit="U/mL", loinc="11210-2")
        )


def test_detection_limit_flags() -> None:
    below = Ca125Observation(effective_date=D, value=5, unit="U/mL", comparator="<")
    assert normalise_observation(below).censoring == "below_detection_limit"
    plain = Ca125Observation(effective_date=D, value=4, unit="U/mL")
    assert normalise_observation(plain, detection_limit_u_ml=5).censoring == (
        "below_detection_limit"
    )
    assert normalise_observation(plain, detection_limit_u_ml=4).censoring is None
    above = Ca125Observation(effective_date=D, value=5000, unit="U/mL", comparator=">")
    assert normalise_observation(above).censoring == "above_measurement_range"
