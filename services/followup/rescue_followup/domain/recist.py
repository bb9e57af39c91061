"""RECIST 1.1 progressive disease from a subject's chronological tumour assessments.

Rules (RECIST 1.1, Eisenhauer 2009):
- The first assessment of the list is the baseline; progression is never called at baseline.
- Target PD: sum of target diameters >= 1.2 x nadir AND sum - nadir >= 5 mm, where the nadir is the
  smallest sum recorded *before* the assessment, baseline included. Arithmetic is exact decimal so
  that an increase of exactly 20 % or exactly 5 mm counts as progression.
- Any new lesion, or unequivocal progression of non-target disease, is PD on its own.
- `target_sum_mm=None` means the sum was not measured at that visit: it neither updates the nadir
  nor can trigger target PD, but new lesions / non-target PD still count. A baseline without a sum
  (no measurable target lesion) makes target PD not applicable for the whole follow-up.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

_RELATIVE = Decimal("1.2")
_ABSOLUTE_MM = Decimal(5)


class RecistAssessment(BaseModel):
    """One tumour assessment (overall timepoint facts needed to call PD)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    target_sum_mm: float | None = Field(default=None, ge=0)
    new_lesions: bool = False
    non_target_pd: bool = False


class RecistPdReason(StrEnum):
    TARGET_SUM_INCREASE = "target_sum_increase"
    NEW_LESION = "new_lesion"
    NON_TARGET_PROGRESSION = "non_target_progression"


class RecistProgression(BaseModel):
    """The first RECIST PD: its date, every reason met at that assessment, and the sums involved."""

    model_config = ConfigDict(frozen=True)

    date: dt.date
    reasons: tuple[RecistPdReason, ...]
    target_sum_mm: float | None
    nadir_mm: float | None


def _dec(value: float) -> Decimal:
    # str() gives the shortest repr, so 36.12 stays 36.12 rather than its binary expansion.
    return Decimal(str(value))


def is_target_progression(target_sum_mm: float, nadir_mm: float) -> bool:
    """Target-lesion PD: >= 20 % over the nadir and >= 5 mm absolute, both inclusive."""
    current, nadir = _dec(target_sum_mm), _dec(nadir_mm)
    return current >= _RELATIVE * nadir and current - nadir >= _ABSOLUTE_MM


def _check_chronological(assessments: Sequence[RecistAssessment]) -> None:
    for previous, current in itertools.pairwise(assessments):
        if current.date <= previous.date:
            raise ValueError(
                f"RECIST assessments must be in strictly increasing date order: "
                f"{current.date} follows {previous.date}"
            )


def first_recist_progression(
    assessments: Sequence[RecistAssessment],
) -> RecistProgression | None:
    """First PD among post-baseline assessments (the first item is the baseline), or None."""
    _check_chronological(assessments)
    if not assessments:
        return None
    nadir = assessments[0].target_sum_mm
    for assessment in assessments[1:]:
        reasons: list[RecistPdReason] = []
        current = assessment.target_sum_mm
        if current is not None and nadir is not None and is_target_progression(current, nadir):
            reasons.append(RecistPdReason.TARGET_SUM_INCREASE)
        if assessment.new_lesions:
            reasons.append(RecistPdReason.NEW_LESION)
        if assessment.non_target_pd:
            reasons.append(RecistPdReason.NON_TARGET_PROGRESSION)
        if reasons:
            return RecistProgression(
                date=assessment.date, reasons=tuple(reasons), target_sum_mm=current, nadir_mm=nadir
            )
        if current is not None and nadir is not None:
            nadir = min(nadir, current)
    return None
