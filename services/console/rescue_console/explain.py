"""Plain words for the codes the services answer with (shown beside the code itself)."""

from __future__ import annotations

EXCLUSION_REASONS = {
    "below_detection_limit": "below the laboratory's detection limit (a censored value)",
    "above_measurement_range": "above the measurement range (a censored value)",
    "non_positive_value": "zero or negative value",
    "before_baseline_window": "drawn too long before chemotherapy started",
    "outside_window": "outside the fitting window after chemotherapy start",
    "superseded_baseline": "an earlier baseline, replaced by a later one",
}
CLASSIFICATIONS = {
    "highly_likely_complete_resection": "highly likely complete resection",
    "not_highly_likely": "not highly likely complete resection",
    "insufficient_data": "insufficient data",
}
CRITERION_RESULTS = {"met": "met", "not_met": "not met", "unknown": "unknown (facts missing)",
                     "pending_prediction": "waiting for the prediction"}
UNMET_CONDITIONS = {
    "screened": "She has not been screened (or the screening has not arrived yet).",
    "eligibility_confirmed": "Her eligibility is not confirmed.",
    "prediction_highly_likely_complete_resection":
        "The prediction is not 'highly likely complete resection'.",
    "strata_facts": "A stratification fact is missing.",
}
VISIT_STATUSES = {"done": "done", "overdue": "overdue", "due": "due now", "upcoming": "upcoming",
                  "not_required": "not required (follow-up ended)"}


def plain(table: dict[str, str], code: object) -> str:
    return table.get(str(code), str(code).replace("_", " ")) if code is not None else "—"
