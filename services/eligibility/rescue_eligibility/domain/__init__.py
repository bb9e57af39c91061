"""Pure eligibility domain: screening facts, versioned protocol criteria and their evaluation."""

from rescue_eligibility.domain.criteria import (
    Criterion,
    Protocol,
    ProtocolConfigError,
    UnknownProtocolVersionError,
    available_versions,
    load_protocol,
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
    screen,
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
    "UnknownProtocolVersionError",
    "available_versions",
    "evaluate",
    "finalize",
    "load_protocol",
    "parse_protocol",
    "screen",
]
