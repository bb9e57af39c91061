"""Pure eligibility domain: screening facts, versioned protocol criteria and their evaluation."""

from rescue_eligibility.domain.criteria import (
    Criterion,
    Protocol,
    ProtocolConfigError,
    parse_protocol,
)
from rescue_eligibility.domain.evaluation import (
    CriterionOutcome,
    CriterionResult,
    FinalDecision,
    ResectionClassification,
    ScreeningOutcome,
    ScreeningResult,
    evaluate,
    finalize,
)
from rescue_eligibility.domain.facts import ClinicalFacts

__all__ = [
    "ClinicalFacts",
    "Criterion",
    "CriterionOutcome",
    "CriterionResult",
    "FinalDecision",
    "Protocol",
    "ProtocolConfigError",
    "ResectionClassification",
    "ScreeningOutcome",
    "ScreeningResult",
    "evaluate",
    "finalize",
    "parse_protocol",
]
