"""What integrators see in the OpenAPI document: a request the service accepts, per operation,
and the rules it enforces beyond the document's JSON Schema (tests post every example)."""

from __future__ import annotations

from rescue_shared.http.openapi import RequestExample
from rescue_shared.queries.http import QUERY_EXAMPLES, QUERY_RULES

REQUEST_EXAMPLES = {
    "configure": RequestExample({"scheme": {"scheme": "permuted_blocks",
                                            "block_sizes": [2, 4]}}),
    "randomize": RequestExample({"subject_id": "S01-0001", "consent_confirmed": True,
                                 "planned_maintenance": "parp_inhibitor"}),
    "invalidate": RequestExample(
        {"reason": "Prior malignancy found in the source documents after randomization"},
        path={"subject_id": "S01-0001"}),
}

RULES_BEYOND_SCHEMA = {
    "randomize": [
        "planned_maintenance is a level of the trial's maintenance stratum (parp_inhibitor, "
        "bevacizumab or none unless configured otherwise)",
    ],
    "invalidate": ["reason has at least three words of two or more letters"],
    "configure": ["the scheme's and strata's values are consistent (weights name factors, "
                  "factor names are unique, ...)"],
}

REQUEST_EXAMPLES |= QUERY_EXAMPLES
RULES_BEYOND_SCHEMA |= QUERY_RULES

REQUEST_EXAMPLES["verify_strata"] = RequestExample(
    {"factor": "pfi", "verified_level": "6-12",
     "reason": "source letter shows a platinum-free interval of eight months"},
    path={"subject_id": "S01-0001"})
RULES_BEYOND_SCHEMA["verify_strata"] = [
    "`factor` is a stratification factor of the allocation and `verified_level` one of its "
    "levels; the reason has at least three words of two or more letters"]
