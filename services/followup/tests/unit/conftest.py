"""Shared fixtures: the Freireich 6-MP vs placebo remission data (Gehan 1965), in weeks."""

from __future__ import annotations

import datetime as dt

import pytest

from rescue_followup.domain.adtte import AdtteRow

# Weeks of remission; "*" = censored.
SIX_MP = ("6", "6", "6", "6*", "7", "9*", "10", "10*", "11*", "13", "16", "17*", "19*", "20*", "22",
          "23", "25*", "32*", "32*", "34*", "35*")  # fmt: skip
PLACEBO = ("1", "1", "2", "2", "3", "4", "4", "5", "5", "8", "8", "8", "8", "11", "11", "12", "12",
           "15", "17", "22", "23")  # fmt: skip
START = dt.date(2020, 1, 1)


def freireich_records(strata: tuple[str, ...] = ("all",)) -> list[AdtteRow]:
    """One ADTTE row per patient, AVAL = weeks; strata assigned cyclically for stratified tests."""
    rows = []
    for arm, times in (("6-MP", SIX_MP), ("PLACEBO", PLACEBO)):
        for i, token in enumerate(times):
            weeks, censored = int(token.rstrip("*")), token.endswith("*")
            rows.append(
                AdtteRow(
                    usubjid=f"{arm}-{i:02d}",
                    arm=arm,
                    strata=strata[i % len(strata)],
                    startdt=START,
                    adt=START + dt.timedelta(days=weeks - 1),
                    aval=weeks,
                    cnsr=1 if censored else 0,
                    evntdesc="" if censored else "Disease Progression",
                    cnsdtdsc="Last Tumor Assessment" if censored else "",
                )
            )
    return rows


@pytest.fixture
def freireich() -> list[AdtteRow]:
    return freireich_records()


@pytest.fixture
def make_freireich():
    """The factory itself, for tests that need strata (test modules cannot import conftest)."""
    return freireich_records
