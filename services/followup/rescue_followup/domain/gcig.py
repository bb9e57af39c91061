"""GCIG CA-125 progression (Rustin 2011) from a subject's serial CA-125 values.

Categories, decided from the evaluable history strictly before the candidate value:
- C: baseline <= ULN (normal before treatment) -> threshold 2 x ULN;
- A: baseline > ULN and some later evaluable value <= ULN (normalised) -> threshold 2 x ULN;
- B: baseline > ULN and never normalised -> threshold 2 x nadir, the nadir being the smallest
  evaluable value so far, baseline included.
"Normal" means <= ULN; thresholds are inclusive (a value of exactly 2 x ULN meets it).

"Two occasions >= 1 week apart" (our precise reading):
- the candidate (first) value meets the threshold fixed at the candidate's date (category, nadir);
- the confirming value is the first evaluable value dated >= 7 days after the candidate, and it
  meets the same threshold;
- every evaluable value in between (< 7 days after the candidate) must meet it too: a value that
  falls back below the threshold refutes the candidate, and the search moves on to later candidates.
- A candidate with no confirming value yet is not progression (still pending).
The progression date is the candidate's date; confirmation must be known, i.e. in the input.

Evaluability: a value dated 0..28 days (inclusive) after a peritoneal/pleural interference
(surgery, paracentesis, ...) is not evaluable, nor is a value flagged `evaluable=False` (e.g. after
murine antibodies). Non-evaluable values are ignored entirely: not candidates, not confirmations,
not nadirs, not evidence of normalisation. The baseline is taken as given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_ULN_U_ML = 35.0
CONFIRMATION_DAYS = 7
INTERFERENCE_WINDOW_DAYS = 28


class Ca125Value(BaseModel):
    """One serum CA-125 result in U/mL (kU/L is numerically identical)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    value_u_ml: float = Field(ge=0)
    evaluable: bool = True


class GcigCategory(StrEnum):
    A = "A"  # elevated before treatment, then normalised
    B = "B"  # elevated before treatment, never normalised
    C = "C"  # normal before treatment


class Ca125Progression(BaseModel):
    """GCIG progression: dated at the first of the two values."""

    model_config = ConfigDict(frozen=True)

    date: dt.date
    confirmation_date: dt.date
    category: GcigCategory
    threshold_u_ml: float
    value_u_ml: float
    confirming_value_u_ml: float
    nadir_u_ml: float | None = None


def is_evaluable(
    value: Ca125Value,
    interference_dates: Iterable[dt.date],
    window_days: int = INTERFERENCE_WINDOW_DAYS,
) -> bool:
    """False when flagged, or dated 0..`window_days` days (inclusive) after an interference."""
    return value.evaluable and not any(
        0 <= (value.date - when).days <= window_days for when in interference_dates
    )


def first_ca125_progression(
    baseline: Ca125Value,
    values: Sequence[Ca125Value],
    *,
    uln_u_ml: float = DEFAULT_ULN_U_ML,
    interference_dates: Iterable[dt.date] = (),
    interference_window_days: int = INTERFERENCE_WINDOW_DAYS,
    confirmation_days: int = CONFIRMATION_DAYS,
) -> Ca125Progression | None:
    """First confirmed GCIG progression after `baseline` (the pre-treatment value), or None.

    `values` are the follow-up results, all dated after the baseline, in any order.
    """
    if uln_u_ml <= 0:
        raise ValueError("ULN must be positive")
    if any(v.date <= baseline.date for v in values):
        raise ValueError("CA-125 follow-up values must be dated after the baseline value")
    interference = tuple(interference_dates)
    series = sorted(
        (v for v in values if is_evaluable(v, interference, interference_window_days)),
        key=lambda v: v.date,
    )
    baseline_elevated = baseline.value_u_ml > uln_u_ml
    nadir = baseline.value_u_ml
    normalised = False
    for i, candidate in enumerate(series):
        if not baseline_elevated:
            category, threshold = GcigCategory.C, 2 * uln_u_ml
        elif normalised:
            category, threshold = GcigCategory.A, 2 * uln_u_ml
        else:
            category, threshold = GcigCategory.B, 2 * nadir
        if candidate.value_u_ml >= threshold:
            for later in series[i + 1 :]:
                if later.value_u_ml < threshold:
                    break
                if (later.date - candidate.date).days >= confirmation_days:
                    return Ca125Progression(
                        date=candidate.date,
                        confirmation_date=later.date,
                        category=category,
                        threshold_u_ml=threshold,
                        value_u_ml=candidate.value_u_ml,
                        confirming_value_u_ml=later.value_u_ml,
                        nadir_u_ml=nadir if category is GcigCategory.B else None,
                    )
        nadir = min(nadir, candidate.value_u_ml)
        normalised = normalised or candidate.value_u_ml <= uln_u_ml
    return None
