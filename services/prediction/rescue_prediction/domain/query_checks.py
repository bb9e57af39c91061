"""Automatic checks of the CA-125 series against the screening that open data queries
(docs/data-queries.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from rescue_prediction.domain.gcig import assess_gcig_response
from rescue_prediction.domain.protocol import GcigOptions
from rescue_prediction.domain.units import NormalisedCa125
from rescue_shared.queries.lifecycle import Finding

GCIG_RESPONSE_VS_CA125 = "gcig_response_vs_ca125"
SCREENING_FACT = "nact_response_gcig_ca125"


def gcig_response_disagreement(
    subject_id: str, screening_facts: Mapping[str, Any], values: Sequence[NormalisedCa125],
    chemotherapy_start: date, gcig: GcigOptions | None = None,
) -> Finding | None:
    """The screening says "GCIG CA-125 response: yes" while the CA-125 values received show no
    confirmed fall of 50 % from an evaluable baseline (GCIG, Rustin 2011)."""
    if screening_facts.get(SCREENING_FACT) is not True or not values:
        return None
    result = (assess_gcig_response(values, chemotherapy_start) if gcig is None
              else assess_gcig_response(values, chemotherapy_start, **gcig))
    if result.status != "no_response":
        return None
    return Finding(GCIG_RESPONSE_VS_CA125, subject_id, SCREENING_FACT,
                   "the screening reports a GCIG CA-125 response, but the CA-125 values received "
                   f"show no confirmed 50 % fall from the baseline of {result.baseline_u_ml:g} "
                   f"U/mL on {result.baseline_date}")
