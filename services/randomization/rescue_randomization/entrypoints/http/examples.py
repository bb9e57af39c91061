"""What integrators see in the OpenAPI document: a request the service accepts, per operation,
and the rules it enforces beyond the document's JSON Schema (tests post every example)."""

from __future__ import annotations

from rescue_shared.http.openapi import RequestExample

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
