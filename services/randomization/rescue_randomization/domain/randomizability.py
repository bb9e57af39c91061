"""Is a subject randomizable? Every unmet condition, named, from what the events told us.

Randomizable = screened at the caller's site, final eligibility confirmed for her latest screening,
the latest complete-resection prediction `highly_likely_complete_resection`, and every strata fact
taken from the screening present and inside a configured level
(docs/protocol/randomization.md, "Who can be randomized").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rescue_randomization.domain.records import CandidateRecord, PredictionRecord
from rescue_randomization.domain.strata import StrataConfig, StratumError

HIGHLY_LIKELY = "highly_likely_complete_resection"
# Facts the site gives in the randomization request rather than at screening.
REQUEST_FACTS = frozenset({"planned_maintenance"})


@dataclass(frozen=True)
class Condition:
    condition: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"condition": self.condition, "detail": self.detail}


def strata_facts(candidate: CandidateRecord,
                 request_facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The facts the strata factors read: the screening's, the site, the request's."""
    clinical = dict(candidate.clinical_facts or {})
    return {**clinical, "site_id": candidate.site_id,
            "pfi_months": clinical.get("platinum_free_interval_months"),
            **(request_facts or {})}


def _eligibility(candidate: CandidateRecord) -> Condition | None:
    status = candidate.eligibility_status
    if status == "confirmed":
        return None
    if status == "ineligible":
        failed = ", ".join(candidate.failed_criteria or []) or "see the screening"
        detail = f"ineligible at screening (criteria not met: {failed})"
    elif status == "rejected":
        detail = f"eligibility rejected: {candidate.eligibility_reason or 'see eligibility'}"
    elif candidate.screening_outcome == "incomplete":
        missing = ", ".join(candidate.missing_facts or []) or "see the screening"
        detail = f"screening incomplete (missing facts: {missing}); eligibility not confirmed"
    else:
        detail = "final eligibility not confirmed yet (no eligibility.confirmed received)"
    return Condition("eligibility_confirmed", detail)


def _prediction(prediction: PredictionRecord | None) -> Condition | None:
    if prediction is None:
        return Condition("prediction_highly_likely_complete_resection",
                         "no complete-resection prediction received yet")
    if prediction.classification != HIGHLY_LIKELY:
        return Condition("prediction_highly_likely_complete_resection",
                         f"latest prediction (version {prediction.version}) is "
                         f"{prediction.classification}")
    return None


def _strata(candidate: CandidateRecord, strata: StrataConfig) -> list[Condition]:
    facts = strata_facts(candidate)
    problems = []
    for factor in strata.factors:
        if factor.source in REQUEST_FACTS:
            continue
        value = facts.get(factor.source)
        if value is None:
            problems.append(Condition("strata_facts", f"fact {factor.source!r} needed for the "
                                      f"stratification factor {factor.name!r} is missing"))
            continue
        try:
            factor.level_of(value)
        except StratumError as exc:
            problems.append(Condition("strata_facts", f"factor {factor.name!r}: {exc}"))
    return problems


def unmet_conditions(
    candidate: CandidateRecord | None, prediction: PredictionRecord | None,
    strata: StrataConfig,
) -> list[Condition]:
    """Every condition for randomization the subject does not meet yet (empty = randomizable)."""
    if candidate is None:
        return [Condition("screened", "no screening of this subject has been received for "
                                      "your site")]
    unmet = [c for c in (_eligibility(candidate), _prediction(prediction)) if c is not None]
    return unmet + _strata(candidate, strata)


def request_fact_errors(request_facts: Mapping[str, Any],
                        strata: StrataConfig) -> list[dict[str, str]]:
    """One error per request field a stratification factor cannot read (empty = all good)."""
    errors = []
    for factor in strata.factors:
        if factor.source not in REQUEST_FACTS:
            continue
        value = request_facts.get(factor.source)
        if value is None:
            errors.append({"field": factor.source, "rule": "missing",
                           "message": f"required by the stratification factor {factor.name!r}"})
            continue
        try:
            factor.level_of(value)
        except StratumError as exc:
            errors.append({"field": factor.source, "rule": "enum", "message": str(exc)})
    return errors
