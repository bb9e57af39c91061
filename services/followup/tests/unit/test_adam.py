"""ADaM dataset rows and metadata: SAS v5 limits, strata as randomized and as verified."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from rescue_followup.domain.adam import ADSL, ADTTE, AdslSubject, Variable, adsl_rows


def subject(subject_id: str, **changes: object) -> AdslSubject:
    base = AdslSubject(
        subject_id=subject_id, site_id="S01", randomization_number="R-1", arm="CHEMO",
        stratum={"pfi": "6-12", "maintenance": "parp"}, randomization_date=dt.date(2026, 3, 1),
        protocol_version="1", invalidated=False)
    return replace(base, **changes)


def test_every_variable_fits_sas_transport_version_5() -> None:
    for dataset in (ADSL, ADTTE):
        assert len(dataset.name) <= 8
        assert len(set(dataset.column_names)) == len(dataset.column_names)
        for var in dataset.variables:
            assert len(var.name) <= 8 and len(var.label) <= 40 and var.length <= 200
    with pytest.raises(ValueError, match="at most 8"):
        Variable("STRATUMVER", "Too long a name", "text", "Derived")
    with pytest.raises(ValueError, match="at most 40"):
        Variable("STRATAV", "x" * 41, "text", "Derived")


def test_strata_as_verified_equal_as_randomized_until_a_factor_is_verified() -> None:
    plain, verified = adsl_rows([
        subject("S01-0002", verified_stratum={"pfi": ">12"}),
        subject("S01-0001"),
    ])
    assert plain["USUBJID"] == "S01-0001"  # sorted by subject
    assert plain["STRATAR"] == plain["STRATAV"] == "maintenance=parp;pfi=6-12"
    assert verified["STRATAR"] == "maintenance=parp;pfi=6-12"
    assert verified["STRATAV"] == "maintenance=parp;pfi=>12"


def test_population_flags_follow_the_invalidation() -> None:
    (row,) = adsl_rows([subject("S01-0001", invalidated=True)])
    assert (row["RANDFL"], row["ITTFL"], row["INVALFL"], row["SENSFL"]) == ("Y", "Y", "Y", "N")
