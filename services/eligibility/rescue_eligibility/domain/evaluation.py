"""Pure evaluation of screening facts against a protocol, and finalisation by the prediction.

Conventions (also in the protocol YAML header):

- Each criterion result is stated from the subject's standpoint: ``met`` = the subject passes it
  (an inclusion holds, an exclusion does NOT apply); ``not_met`` = it makes the subject ineligible
  (an inclusion fails, an exclusion applies); ``unknown`` = a fact needed to decide it is missing;
  ``pending_prediction`` = decided by the complete-resection prediction (INC-05), not yet known.
  So ``failed_criteria`` is exactly the ids whose result is ``not_met``, whatever their kind.
- Outcome: ``ineligible`` if any criterion is ``not_met`` (certain, so it wins over missing facts);
  else ``incomplete`` if any is ``unknown``; else ``eligible``. A missing fact is never read as
  "no". ``awaiting_prediction`` is true only for an ``eligible`` outcome whose prediction
  criterion is still pending.
- ``missing_facts`` lists the absent facts that keep some criterion ``unknown`` (also reported
  when the outcome is ``ineligible``, for information).
- Finalisation (:func:`finalize`): ``highly_likely_complete_resection`` -> INC-05 met;
  ``not_highly_likely`` -> not met; ``insufficient_data`` -> stays pending (more CA-125 values
  may come). The outcome is then recomputed with the same rule; a later prediction supersedes an
  earlier one. :attr:`ScreeningResult.final_decision` reads eligible / ineligible / pending.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from rescue_eligibility.domain.criteria import Criterion, CriterionKind, Protocol
from rescue_eligibility.domain.facts import ClinicalFacts, FactValue

CriterionOutcome = Literal["met", "not_met", "unknown", "pending_prediction"]
ScreeningOutcome = Literal["eligible", "ineligible", "incomplete"]
ResectionClassification = Literal[
    "highly_likely_complete_resection", "not_highly_likely", "insufficient_data"
]
FinalDecision = Literal["eligible", "ineligible", "pending"]

_PREDICTION: dict[str, tuple[CriterionOutcome, str]] = {
    "highly_likely_complete_resection": (
        "met", "prediction service: complete resection highly likely"),
    "not_highly_likely": ("not_met", "prediction service: complete resection not highly likely"),
    "insufficient_data": (
        "pending_prediction",
        "prediction service: insufficient data (more CA-125 values needed); still pending"),
}
_AWAITING = "awaiting the complete-resection prediction"


class CriterionResult(BaseModel):
    """The judgement on one criterion, with a reason citing the values used."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: CriterionKind
    text: str
    source: str
    decided_by: Literal["rule", "prediction"] = "rule"
    result: CriterionOutcome
    reason: str
    facts_used: dict[str, FactValue] = {}
    missing_facts: tuple[str, ...] = ()


class ScreeningResult(BaseModel):
    """The judgement on all criteria of one protocol version."""

    model_config = ConfigDict(frozen=True)

    protocol_version: str
    outcome: ScreeningOutcome
    awaiting_prediction: bool
    criteria: tuple[CriterionResult, ...]
    failed_criteria: tuple[str, ...] = ()
    missing_facts: tuple[str, ...] = ()
    prediction_classification: ResectionClassification | None = None

    # mypy cannot type a decorated property (python/mypy#1362); pydantic documents this ignore.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def final_decision(self) -> FinalDecision:
        """eligible (nothing outstanding) / ineligible (certain) / pending (facts or prediction)."""
        if self.outcome == "ineligible":
            return "ineligible"
        if self.outcome == "eligible" and not self.awaiting_prediction:
            return "eligible"
        return "pending"

    def rejection_reason(self) -> str:
        """The failed criteria with their reasons, one sentence each ('' if none failed)."""
        return ". ".join(f"{c.id}: {c.reason}" for c in self.criteria if c.result == "not_met")


def _judge(criterion: Criterion, facts: dict[str, FactValue]) -> CriterionResult:
    """Evaluate one criterion; an exclusion's rule is the excluding condition."""
    common = criterion.model_dump(include={"id", "kind", "text", "source", "decided_by"})
    if criterion.rule is None:
        return CriterionResult(**common, result="pending_prediction", reason=_AWAITING)
    verdict = criterion.rule.evaluate(facts)
    reason = "; ".join(verdict.reasons)
    if verdict.holds is None:
        result: CriterionOutcome = "unknown"
    elif criterion.kind == "inclusion":
        result = "met" if verdict.holds else "not_met"
    else:
        result = "not_met" if verdict.holds else "met"
        reason = f"exclusion {'applies' if verdict.holds else 'does not apply'}: {reason}"
    return CriterionResult(
        **common, result=result, reason=reason,
        facts_used=dict(verdict.used), missing_facts=verdict.missing,
    )


def _assemble(
    version: str,
    criteria: tuple[CriterionResult, ...],
    classification: ResectionClassification | None = None,
) -> ScreeningResult:
    """Derive outcome, failed criteria and missing facts from the criterion results."""
    failed = tuple(c.id for c in criteria if c.result == "not_met")
    unknown = [c for c in criteria if c.result == "unknown"]
    missing = tuple(dict.fromkeys(f for c in unknown for f in c.missing_facts))
    outcome: ScreeningOutcome = "ineligible" if failed else "incomplete" if unknown else "eligible"
    pending = any(c.result == "pending_prediction" for c in criteria)
    return ScreeningResult(
        protocol_version=version, outcome=outcome,
        awaiting_prediction=outcome == "eligible" and pending,
        criteria=criteria, failed_criteria=failed, missing_facts=missing,
        prediction_classification=classification,
    )


def evaluate(protocol: Protocol, facts: ClinicalFacts) -> ScreeningResult:
    """Judge the facts against every criterion of the protocol (prediction criterion pending)."""
    known = facts.known()
    return _assemble(protocol.version, tuple(_judge(c, known) for c in protocol.criteria))


def finalize(
    screening: ScreeningResult, classification: ResectionClassification
) -> ScreeningResult:
    """Apply the prediction's classification to the prediction criterion and recompute.

    Works on a fresh or an already finalised result (the latest prediction supersedes), and on a
    result rehydrated from storage; it needs no protocol file.
    """
    if classification not in _PREDICTION:
        raise ValueError(f"unknown resection classification {classification!r}")
    result, reason = _PREDICTION[classification]
    criteria = tuple(
        c.model_copy(update={"result": result, "reason": reason})
        if c.decided_by == "prediction" else c
        for c in screening.criteria
    )
    return _assemble(screening.protocol_version, criteria, classification)
