"""What integrators see in the OpenAPI document: a request the service accepts, per operation,
and the rules it enforces beyond the document's JSON Schema (tests post every example)."""

from __future__ import annotations

from rescue_shared.http.openapi import RequestExample
from rescue_shared.queries.http import QUERY_EXAMPLES, QUERY_RULES

SCREENING_FACTS = {
    "age_years": 57, "histology": "high_grade_serous", "primary_site": "ovary",
    "recurrence_number": 1, "prior_chemotherapy_lines": 1, "platinum_free_interval_months": 14.0,
    "progressed_on_platinum": False, "nact_cycles": 3, "nact_platinum_based": True,
    "nact_response_recist": "PR", "nact_response_gcig_ca125": True, "ecog": 0, "ascites_ml": 0,
    "residual_disease_primary_surgery": "none", "figo_stage_initial": "IIIC",
    "unresectable_disease_on_imaging": False, "palliative_surgery_only": False,
}

REQUEST_EXAMPLES = {
    "create_screening": RequestExample({"subject_id": "S01-0001",
                                        "screening_date": "2026-03-02",
                                        "facts": SCREENING_FACTS}),
}

RULES_BEYOND_SCHEMA = {
    "create_screening": [
        "screening_date is not after today anywhere on Earth (UTC+14)",
        "subject_id is one the caller's site may use: not another site's subject, not differing "
        "only in letter case from a known id, not a reserved placeholder such as `test` "
        "(rule `unavailable`, the same answer whatever the cause)",
    ],
}

REQUEST_EXAMPLES |= QUERY_EXAMPLES
RULES_BEYOND_SCHEMA |= QUERY_RULES
