from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from rescue_followup.domain.adtte import (
    COLUMNS,
    AdtteRow,
    AdtteValidationError,
    build_adtte_row,
    read_adtte_csv,
    write_adtte_csv,
)
from rescue_followup.domain.pfs import PfsSubject, derive_pfs
from rescue_followup.domain.recist import RecistAssessment

RAND = dt.date(2026, 1, 1)
HEADER = ",".join(COLUMNS)


def test_rows_from_pfs_results_use_adam_vocabulary() -> None:
    progressed = derive_pfs(
        PfsSubject(
            randomization_date=RAND,
            recist_assessments=(
                RecistAssessment(date=dt.date(2025, 12, 20), target_sum_mm=50),
                RecistAssessment(date=dt.date(2026, 4, 1), target_sum_mm=50, new_lesions=True),
            ),
        )
    )
    row = build_adtte_row("S-001", "SCS_CHEMO", "site=S01", progressed)
    assert (row.paramcd, row.startdt, row.adt, row.aval, row.cnsr) == (
        "PFS",
        RAND,
        dt.date(2026, 4, 1),
        91,
        0,
    )
    assert (row.evntdesc, row.cnsdtdsc) == ("Disease Progression", "")

    died = build_adtte_row(
        "S-002",
        "CHEMO",
        "",
        derive_pfs(PfsSubject(randomization_date=RAND, death_date=dt.date(2026, 2, 1))),
    )
    assert (died.evntdesc, died.cnsr, died.aval) == ("Death", 0, 32)

    nothing = build_adtte_row("S-003", "CHEMO", "", derive_pfs(PfsSubject(randomization_date=RAND)))
    assert (nothing.cnsr, nothing.aval, nothing.cnsdtdsc, nothing.evntdesc) == (
        1,
        1,
        "Randomization",
        "",
    )

    censored = build_adtte_row(
        "S-004",
        "CHEMO",
        "",
        derive_pfs(
            PfsSubject(
                randomization_date=RAND,
                recist_assessments=(
                    RecistAssessment(date=dt.date(2025, 12, 20), target_sum_mm=50),
                    RecistAssessment(date=dt.date(2026, 4, 1), target_sum_mm=45),
                ),
            )
        ),
        invalidated=True,
    )
    assert (censored.cnsdtdsc, censored.invalidated) == ("Last Tumor Assessment", True)


def test_csv_round_trip() -> None:
    rows = [
        AdtteRow(
            usubjid="S-1",
            arm="SCS_CHEMO",
            strata="site=S01|pfi=>12",
            startdt=RAND,
            adt=dt.date(2026, 4, 1),
            aval=91,
            cnsr=0,
            evntdesc="Disease Progression",
        ),
        AdtteRow(
            usubjid="S-2",
            arm="CHEMO",
            strata="site=S02",
            startdt=RAND,
            adt=RAND,
            aval=1,
            cnsr=1,
            cnsdtdsc="Randomization",
            invalidated=True,
        ),
    ]
    text = write_adtte_csv(rows)
    assert text.splitlines()[0] == HEADER
    assert text.splitlines()[2].endswith(",1,,Randomization,Y")
    assert read_adtte_csv(text) == rows


def test_invalfl_column_is_optional() -> None:
    text = (
        "USUBJID,ARM,STRATA,PARAMCD,STARTDT,ADT,AVAL,CNSR,EVNTDESC,CNSDTDSC\n"
        "A,SCS_CHEMO,,PFS,2026-01-01,2026-01-10,10,0,Death,\n"
        "B,CHEMO,,PFS,2026-01-01,2026-01-01,1,1,,Randomization\n"
    )
    assert [r.invalidated for r in read_adtte_csv(text)] == [False, False]


def test_all_problems_are_reported_with_row_and_column() -> None:
    text = "\n".join(
        [
            HEADER,
            "A,SCS_CHEMO,,PFS,2026-01-01,2026-01-10,10,2,Death,,N",  # CNSR not 0/1
            "B,SCS_CHEMO,,PFS,2026-01-01,2026-01-10,-3,0,Death,,N",  # AVAL < 0
            "C,SCS_CHEMO,,PFS,2026-01-10,2026-01-01,1,0,Death,,N",  # ADT before STARTDT
            "D,SCS_CHEMO,,PFS,2026-01-01,2026-01-10,11,0,Death,,N",  # AVAL not ADT-STARTDT+1
            "E,SCS_CHEMO,,PFS,2026-01-01,01/10/2026,10,1,,Randomization,N",  # bad date
            "A,SCS_CHEMO,,PFS,2026-01-01,2026-01-10,10,0,Death,,N",  # duplicate subject
            "F,SCS_CHEMO,,PFS,2026-01-01,2026-01-10,10,1,Death,,N",  # censored with EVNTDESC
        ]
    )
    with pytest.raises(AdtteValidationError) as caught:
        read_adtte_csv(text)
    found = {(i.row, i.column) for i in caught.value.issues}
    assert found == {
        (2, "CNSR"),
        (3, "AVAL"),
        (4, "ADT"),
        (5, "AVAL"),
        (6, "ADT"),
        (7, "USUBJID"),
        (8, "CNSDTDSC"),
        (8, "EVNTDESC"),
        (None, "ARM"),  # the CHEMO arm is empty
    }
    message = str(caught.value)
    assert "row 2, column CNSR" in message and "arm CHEMO has no rows" in message


def test_missing_column_is_named_and_rows_still_checked() -> None:
    text = (
        "USUBJID,ARM,STRATA,PARAMCD,STARTDT,ADT,AVAL,EVNTDESC,CNSDTDSC\n"
        "A,SCS_CHEMO,,PFS,2026-01-01,2026-01-10,-1,Death,\n"
        "B,CHEMO,,PFS,2026-01-01,2026-01-01,1,,Randomization\n"
    )
    with pytest.raises(AdtteValidationError) as caught:
        read_adtte_csv(text)
    assert {(i.row, i.column) for i in caught.value.issues} == {(1, "CNSR"), (2, "AVAL")}


def test_unknown_arm_and_wrong_paramcd() -> None:
    text = "\n".join(
        [
            HEADER,
            "A,SURGERY,,PFS,2026-01-01,2026-01-10,10,0,Death,,N",
            "B,CHEMO,,OS,2026-01-01,2026-01-10,10,0,Death,,N",
            "C,SCS_CHEMO,,PFS,2026-01-01,2026-01-10,10,0,Death,,N",
        ]
    )
    with pytest.raises(AdtteValidationError) as caught:
        read_adtte_csv(text)
    assert {(i.row, i.column) for i in caught.value.issues} == {(2, "ARM"), (3, "PARAMCD")}


def test_model_rejects_inconsistent_rows() -> None:
    with pytest.raises(ValidationError, match="AVAL"):
        AdtteRow(
            usubjid="A",
            arm="CHEMO",
            startdt=RAND,
            adt=RAND,
            aval=2,
            cnsr=1,
            cnsdtdsc="Randomization",
        )
    with pytest.raises(ValidationError, match="EVNTDESC"):
        AdtteRow(usubjid="A", arm="CHEMO", startdt=RAND, adt=RAND, aval=1, cnsr=0)
