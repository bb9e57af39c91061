"""Prediction's automatic data-query check: a screening reporting a GCIG CA-125 response the
CA-125 values received do not show."""

from __future__ import annotations

from datetime import date, timedelta

from rescue_prediction.domain.query_checks import gcig_response_disagreement
from rescue_prediction.domain.units import NormalisedCa125

START = date(2027, 1, 10)
RESPONSE = {"nact_response_gcig_ca125": True}


def series(*values: float) -> list[NormalisedCa125]:
    return [NormalisedCa125(effective_date=START + timedelta(days=21 * i), value_u_ml=v,
                            original_value=v, original_unit="U/mL")
            for i, v in enumerate(values)]


def test_a_claimed_response_without_a_50_percent_fall_is_found() -> None:
    finding = gcig_response_disagreement("S01-0001", RESPONSE, series(800, 700, 650, 600),
                                         START)
    assert finding is not None and finding.check == "gcig_response_vs_ca125"
    assert finding.field == "nact_response_gcig_ca125" and "800" in finding.message


def test_a_confirmed_response_or_no_claim_raises_nothing() -> None:
    falling = series(800, 300, 150, 90)
    assert gcig_response_disagreement("S01-0001", RESPONSE, falling, START) is None
    flat = series(800, 700, 650, 600)
    assert gcig_response_disagreement("S01-0001", {"nact_response_gcig_ca125": False}, flat,
                                      START) is None
    assert gcig_response_disagreement("S01-0001", RESPONSE, [], START) is None
