"""Complete-resection classification by the protocol's configured rule (data, not code).

Rule: standardized KELIM >= ``kelim_standardized_min`` AND any of ``require_any_of``
(``ago_positive``, ``imodel_low_risk`` with iMODEL <= ``imodel_max``). Three-valued logic: an
unknown part makes the result "insufficient_data" only when it could change the outcome, so a
failed part (e.g. unfavorable KELIM, or both scores unfavorable) gives "not_highly_likely" even
while something else is still missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rescue_prediction.domain.kelim import OfficialKelim, SelectedKelim, select_kelim
from rescue_prediction.domain.kinetics import KineticPoint, fit_k
from rescue_prediction.domain.protocol import (
    ClassificationRule,
    KineticsSettings,
    PredictionProtocol,
    RuleCondition,
)
from rescue_prediction.domain.scores import (
    AgoResult,
    ImodelResult,
    ScoreFacts,
    ago_score,
    imodel_risk,
    imodel_score,
)

#: Why there is no local KELIM when values are stored but the chemotherapy start is not.
MISSING_START = ("KELIM: chemotherapy start date unknown (send it with "
                 "POST /v1/subjects/{id}/ca125), so the CA-125 series cannot be placed in time")

Classification = Literal[
    "highly_likely_complete_resection", "not_highly_likely", "insufficient_data"
]


class ResectionPrediction(BaseModel):
    """The classification, why, what is missing, and every input result it rests on."""

    model_config = ConfigDict(frozen=True)

    classification: Classification
    reasons: tuple[str, ...]
    missing: tuple[str, ...] = ()
    kelim: SelectedKelim
    ago: AgoResult
    imodel: ImodelResult
    rule: ClassificationRule
    protocol_version: str
    model_version: str
    assumptions: tuple[str, ...] = ()


def _kelim_part(kelim: SelectedKelim, rule: ClassificationRule) -> tuple[bool | None, str]:
    if kelim.standardized is None:
        return None, kelim.missing or "KELIM missing"
    ok = kelim.standardized >= rule.kelim_standardized_min
    op = ">=" if ok else "<"
    return (
        ok,
        f"{kelim.label}: standardized {kelim.standardized:.3g} {op} "
        f"{rule.kelim_standardized_min:g}",
    )


def _ago_part(ago: AgoResult) -> tuple[bool | None, str]:
    if ago.status == "positive":
        return True, "AGO score positive"
    if ago.status == "negative":
        return False, "AGO score negative: " + "; ".join(ago.failing)
    return None, "AGO score unknown: missing " + ", ".join(ago.missing)


def _imodel_part(imodel: ImodelResult, rule: ClassificationRule) -> tuple[bool | None, str]:
    risk = imodel_risk(imodel.known_points, imodel.max_possible_points, rule.imodel_max)
    points = (
        f"{imodel.total:g}"
        if imodel.total is not None
        else f"{imodel.known_points:g}-{imodel.max_possible_points:g} "
        f"(missing {', '.join(imodel.missing)})"
    )
    if risk == "low_risk":
        return True, f"iMODEL {points} <= {rule.imodel_max:g}: low risk"
    if risk == "high_risk":
        return False, f"iMODEL {points} > {rule.imodel_max:g}: high risk"
    return None, f"iMODEL {points}: risk group unknown (cut-off {rule.imodel_max:g})"


def _any_of(values: Sequence[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    if all(v is False for v in values):
        return False
    return None


def classify_resection(
    kelim: SelectedKelim, ago: AgoResult, imodel: ImodelResult, protocol: PredictionProtocol
) -> ResectionPrediction:
    """Apply the protocol's rule to the chosen KELIM and the two scores."""
    rule = protocol.classification_rule
    kelim_ok, kelim_reason = _kelim_part(kelim, rule)
    parts: dict[RuleCondition, tuple[bool | None, str]] = {
        "ago_positive": _ago_part(ago),
        "imodel_low_risk": _imodel_part(imodel, rule),
    }
    scores_ok = _any_of([parts[c][0] for c in rule.require_any_of])
    reasons = [kelim_reason] + [parts[c][1] for c in rule.require_any_of]
    missing: list[str] = []
    if kelim_ok is False or scores_ok is False:
        result: Classification = "not_highly_likely"
    elif kelim_ok and scores_ok:
        result = "highly_likely_complete_resection"
    else:
        result = "insufficient_data"
        if kelim_ok is None:
            missing.append(kelim_reason)
        if scores_ok is None:
            missing.extend(parts[c][1] for c in rule.require_any_of if parts[c][0] is None)
    reasons.append(
        f"rule: KELIM standardized >= {rule.kelim_standardized_min:g} AND any of "
        f"[{', '.join(rule.require_any_of)}] → {result}"
    )
    return ResectionPrediction(
        classification=result,
        reasons=tuple(reasons),
        missing=tuple(missing),
        kelim=kelim,
        ago=ago,
        imodel=imodel,
        rule=rule,
        protocol_version=protocol.protocol_version,
        model_version=protocol.model_version,
        assumptions=kelim.assumptions or protocol.assumptions(),
    )


def predict_resection(
    facts: ScoreFacts | Mapping[str, Any],
    protocol: PredictionProtocol,
    *,
    ca125_points: Sequence[KineticPoint] | None = None,
    official_kelim: OfficialKelim | None = None,
    kinetics_settings: KineticsSettings | None = None,
    series_without_start: bool = False,
) -> ResectionPrediction:
    """Whole prediction for one subject: local K fit (if a series is given, kept for audit even
    when an official KELIM overrides it), KELIM choice, AGO, iMODEL, classification
    (docs/protocol/resection-prediction.md § The combination rule).

    `series_without_start`: CA-125 values are stored but the chemotherapy start date is not known,
    so they cannot be placed in time (`ca125_points` is then None); when no KELIM is available
    the missing part says so, telling the site what to send.
    """
    settings = kinetics_settings or protocol.kinetics_settings()
    local = fit_k(ca125_points, settings) if ca125_points is not None else None
    kelim = select_kelim(local, official_kelim, settings)
    if kelim.source is None and series_without_start:
        kelim = kelim.model_copy(update={"missing": MISSING_START})
    imodel = imodel_score(facts, low_risk_max=protocol.classification_rule.imodel_max)
    return classify_resection(kelim, ago_score(facts), imodel, protocol)
