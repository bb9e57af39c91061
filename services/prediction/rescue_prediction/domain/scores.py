"""Clinical selection scores for complete secondary cytoreduction: AGO (DESKTOP) and iMODEL (SOC-1).

Missing facts are never read as "no": a score with a missing item is "unknown" and names what is
missing, unless the known items already decide it (AGO: any failing item makes it negative;
iMODEL: known points above the cut-off make it high risk, and known points plus every missing
item's maximum at or below the cut-off make it low risk).

iMODEL item thresholds other than CA-125 > 105 U/mL (FIGO III-IV, any residual disease after
primary surgery, PFI < 16 months, ECOG 2-3, any ascites) are the commonly used ones, not verified
from the paper. ECOG 4 (not a surgical candidate) scores like 2-3. Points are summed in tenths so
that e.g. 0.8 + 1.5 + 2.4 is exactly 4.7 (floats would give 4.699999...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Residual = Literal["none", "<1cm", ">=1cm", "unknown"]
_FIGO_RE = re.compile(r"^(IV|III|II|I)([ABC][1-3]?)?$")

AGO_ASCITES_LIMIT_ML = 500.0  # positive needs ascites strictly below
IMODEL_CA125_LIMIT_U_ML = 105.0  # points when strictly above
IMODEL_PFI_LIMIT_MONTHS = 16.0  # points when strictly below


class ScoreFacts(BaseModel):
    """The screening facts the scores read (other screening facts are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    ecog: int | None = Field(None, ge=0, le=4)
    ascites_ml: float | None = Field(None, ge=0)
    residual_disease_primary_surgery: Residual | None = None
    figo_stage_initial: str | None = None
    platinum_free_interval_months: float | None = Field(None, ge=0)
    ca125_at_recurrence_u_ml: float | None = Field(None, ge=0)

    @field_validator("figo_stage_initial")
    @classmethod
    def _figo(cls, v: str | None) -> str | None:
        if v is None or v.strip().lower() == "unknown":
            return None
        stage = v.strip().upper()
        if not _FIGO_RE.match(stage):
            raise ValueError(f"not a FIGO stage: {v!r} (expected e.g. IC, IIIC, IVB)")
        return stage

    @property
    def residual(self) -> Residual | None:
        """Residual disease, with "unknown" treated as missing."""
        r = self.residual_disease_primary_surgery
        return None if r == "unknown" else r


def as_score_facts(facts: ScoreFacts | Mapping[str, Any]) -> ScoreFacts:
    """Accept the typed model or the screening facts mapping."""
    return facts if isinstance(facts, ScoreFacts) else ScoreFacts.model_validate(dict(facts))


class AgoItem(BaseModel):
    """One AGO criterion: met (True/False) or None when its fact is missing."""

    model_config = ConfigDict(frozen=True)

    fact: str
    met: bool | None
    detail: str


class AgoResult(BaseModel):
    """AGO score: positive only when all three criteria are met."""

    model_config = ConfigDict(frozen=True)

    status: Literal["positive", "negative", "unknown"]
    items: tuple[AgoItem, ...]
    failing: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def ago_score(facts: ScoreFacts | Mapping[str, Any]) -> AgoResult:
    """AGO (DESKTOP): ECOG 0 AND ascites < 500 mL AND no residual disease at primary surgery."""
    f = as_score_facts(facts)
    items = (
        _ago_item("ecog", f.ecog, lambda e: e == 0, "ECOG {} (needs 0)"),
        _ago_item(
            "ascites_ml",
            f.ascites_ml,
            lambda a: a < AGO_ASCITES_LIMIT_ML,
            "ascites {:g} mL (needs < 500 mL)",
        ),
        _ago_item(
            "residual_disease_primary_surgery",
            f.residual,
            lambda r: r == "none",
            "residual disease after primary surgery {} (needs none)",
        ),
    )
    failing = tuple(i.detail for i in items if i.met is False)
    missing = tuple(i.fact for i in items if i.met is None)
    status = "negative" if failing else "unknown" if missing else "positive"
    return AgoResult(status=status, items=items, failing=failing, missing=missing)


def _ago_item(fact: str, value: Any, test: Callable[[Any], bool], template: str) -> AgoItem:
    if value is None:
        return AgoItem(fact=fact, met=None, detail=f"{fact} missing")
    return AgoItem(fact=fact, met=test(value), detail=template.format(value))


class ImodelItem(BaseModel):
    """One iMODEL item: points scored (None when its fact is missing) and the most it can score."""

    model_config = ConfigDict(frozen=True)

    fact: str
    points: float | None
    max_points: float
    detail: str


class ImodelResult(BaseModel):
    """iMODEL total (0-11.9) and risk group; ``total`` only when every item is known."""

    model_config = ConfigDict(frozen=True)

    status: Literal["low_risk", "high_risk", "unknown"]
    total: float | None
    known_points: float
    max_possible_points: float
    low_risk_max: float
    items: tuple[ImodelItem, ...]
    missing: tuple[str, ...] = ()


#: fact, points in tenths, predicate on the (known) value, description of the scoring condition.
_IMODEL_ITEMS: tuple[tuple[str, int, Callable[[Any], bool], str], ...] = (
    ("figo_stage_initial", 8, lambda s: s.startswith(("III", "IV")), "FIGO stage III-IV"),
    (
        "residual_disease_primary_surgery",
        15,
        lambda r: r in ("<1cm", ">=1cm"),
        "residual disease after primary surgery",
    ),
    ("platinum_free_interval_months", 24, lambda m: m < IMODEL_PFI_LIMIT_MONTHS, "PFI < 16 months"),
    ("ecog", 24, lambda e: e >= 2, "ECOG 2-3"),
    (
        "ca125_at_recurrence_u_ml",
        18,
        lambda c: c > IMODEL_CA125_LIMIT_U_ML,
        "CA-125 at recurrence > 105 U/mL",
    ),
    ("ascites_ml", 30, lambda a: a > 0, "ascites present"),
)


def imodel_score(facts: ScoreFacts | Mapping[str, Any], low_risk_max: float = 4.7) -> ImodelResult:
    """iMODEL (SOC-1) item points, total and risk group (total <= ``low_risk_max`` = low risk)."""
    f = as_score_facts(facts)
    items: list[ImodelItem] = []
    known = unknown = 0
    for fact, tenths, test, label in _IMODEL_ITEMS:
        value = f.residual if fact == "residual_disease_primary_surgery" else getattr(f, fact)
        if value is None:
            unknown += tenths
            items.append(
                ImodelItem(
                    fact=fact,
                    points=None,
                    max_points=tenths / 10,
                    detail=f"{label}: {fact} missing",
                )
            )
            continue
        scored = tenths if test(value) else 0
        known += scored
        items.append(
            ImodelItem(
                fact=fact,
                points=scored / 10,
                max_points=tenths / 10,
                detail=f"{label}: {'yes' if scored else 'no'} ({value})",
            )
        )
    missing = tuple(i.fact for i in items if i.points is None)
    return ImodelResult(
        status=imodel_risk(known / 10, (known + unknown) / 10, low_risk_max),
        total=None if missing else known / 10,
        known_points=known / 10,
        max_possible_points=(known + unknown) / 10,
        low_risk_max=low_risk_max,
        items=tuple(items),
        missing=missing,
    )


def imodel_risk(
    known_points: float, max_possible_points: float, low_risk_max: float
) -> Literal["low_risk", "high_risk", "unknown"]:
    """Risk group decided from the known points and the most the missing items could add."""
    if known_points > low_risk_max:
        return "high_risk"
    if max_possible_points <= low_risk_max:
        return "low_risk"
    return "unknown"
