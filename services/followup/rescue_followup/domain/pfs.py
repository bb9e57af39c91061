"""Progression-free survival of one subject, as known at an optional data cut-off.

Conventions (docs/protocol/pfs.md § Derivation for one subject; FDA 2018 / EMA censoring
conventions, primary analysis):
- Start: randomization date (intention to treat). AVAL = end - start + 1 days (ADaM), so an event
  on the day of randomization is 1 day.
- Event: the earliest of RECIST 1.1 PD, GCIG CA-125 progression (dated at its first value) and death
  from any cause. Same-day ties are labelled RECIST, then CA-125, then death.
- Censoring without event: at the last *adequate* assessment = the last post-baseline RECIST tumour
  assessment dated after randomization (ADaM CNSDTDSC "Last Tumor Assessment"). CA-125 values are
  not adequate assessments: a marker alone can confirm progression but not its absence. With no such
  assessment: censored at randomization (AVAL 1, CNSDTDSC "Randomization"). Callers pass only
  evaluable tumour assessments (an "NE" timepoint is not adequate).
- Data cut-off: only facts dated on or before the cut-off count (assessments, CA-125 values and
  their confirmations, death). An event-free subject is censored at the last adequate assessment on
  or before the cut-off, never at the cut-off date itself.
- Withdrawal / lost to follow-up: facts dated after the withdrawal date are ignored (including a
  later death); the subject is censored at the last adequate assessment, as above.
- Not applied (sensitivity analyses only): censoring an event that follows two or more missed
  assessments, and censoring at start of new anticancer therapy.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rescue_followup.domain.gcig import (
    DEFAULT_ULN_U_ML,
    INTERFERENCE_WINDOW_DAYS,
    Ca125Progression,
    Ca125Value,
    first_ca125_progression,
)
from rescue_followup.domain.recist import (
    RecistAssessment,
    RecistProgression,
    first_recist_progression,
)


class PfsEventType(StrEnum):
    PROGRESSION_RECIST = "progression_recist"
    PROGRESSION_CA125 = "progression_ca125"
    DEATH = "death"


class CensorReason(StrEnum):
    NO_ADEQUATE_ASSESSMENT = "no_adequate_assessment"  # censored at randomization
    EVENT_FREE = "event_free_at_last_assessment"
    WITHDRAWN = "withdrawn"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"


class CensorDateSource(StrEnum):
    LAST_TUMOR_ASSESSMENT = "last_tumor_assessment"
    RANDOMIZATION = "randomization"


class Ca125Series(BaseModel):
    """A subject's CA-125 history for GCIG: pre-treatment baseline, follow-up values, lab ULN."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline: Ca125Value
    values: tuple[Ca125Value, ...] = ()
    uln_u_ml: float = Field(default=DEFAULT_ULN_U_ML, gt=0)
    interference_dates: tuple[dt.date, ...] = ()
    interference_window_days: int = Field(default=INTERFERENCE_WINDOW_DAYS, ge=0)


class PfsSubject(BaseModel):
    """Everything the PFS derivation needs about one subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    randomization_date: dt.date
    recist_assessments: tuple[RecistAssessment, ...] = Field(
        default=(), description="Chronological; the first one is the baseline."
    )
    ca125: Ca125Series | None = None
    death_date: dt.date | None = None
    withdrawal_date: dt.date | None = None
    withdrawal_reason: Literal["withdrawn", "lost_to_follow_up"] = "withdrawn"


class PfsResult(BaseModel):
    """One subject's PFS: event or censoring, with the dates and the evidence behind it."""

    model_config = ConfigDict(frozen=True)

    event: bool
    event_type: PfsEventType | None
    start_date: dt.date
    end_date: dt.date
    days: int = Field(ge=1, description="AVAL = end_date - start_date + 1")
    censor_reason: CensorReason | None = None
    censor_date_source: CensorDateSource | None = None
    data_cutoff: dt.date | None = None
    recist_progression: RecistProgression | None = None
    ca125_progression: Ca125Progression | None = None


def pfs_days(start: dt.date, end: dt.date) -> int:
    """ADaM AVAL for a time-to-event in days: ADT - STARTDT + 1."""
    return (end - start).days + 1


def _horizon(cutoff: dt.date | None, withdrawal: dt.date | None) -> dt.date | None:
    known = [d for d in (cutoff, withdrawal) if d is not None]
    return min(known) if known else None


def derive_pfs(subject: PfsSubject, *, data_cutoff: dt.date | None = None) -> PfsResult:
    """PFS event or censoring for `subject`, using only what was known by `data_cutoff`.

    Raises ValueError when an event predates randomization: inconsistent data is never fixed here.
    """
    start = subject.randomization_date
    horizon = _horizon(data_cutoff, subject.withdrawal_date)

    def known(day: dt.date) -> bool:
        return horizon is None or day <= horizon

    assessments = tuple(a for a in subject.recist_assessments if known(a.date))
    recist = first_recist_progression(assessments)

    ca125: Ca125Progression | None = None
    series = subject.ca125
    if series is not None and known(series.baseline.date):
        ca125 = first_ca125_progression(
            series.baseline,
            [v for v in series.values if known(v.date)],
            uln_u_ml=series.uln_u_ml,
            interference_dates=series.interference_dates,
            interference_window_days=series.interference_window_days,
        )

    candidates: list[tuple[dt.date, int, PfsEventType]] = []
    if recist is not None:
        candidates.append((recist.date, 0, PfsEventType.PROGRESSION_RECIST))
    if ca125 is not None:
        candidates.append((ca125.date, 1, PfsEventType.PROGRESSION_CA125))
    death = subject.death_date
    if death is not None and known(death):
        candidates.append((death, 2, PfsEventType.DEATH))

    if candidates:
        end, _, event_type = min(candidates)
        if end < start:
            raise ValueError(f"{event_type.value} dated {end} precedes randomization on {start}")
        return PfsResult(
            event=True,
            event_type=event_type,
            start_date=start,
            end_date=end,
            days=pfs_days(start, end),
            data_cutoff=data_cutoff,
            recist_progression=recist if event_type is PfsEventType.PROGRESSION_RECIST else None,
            ca125_progression=ca125 if event_type is PfsEventType.PROGRESSION_CA125 else None,
        )

    adequate = [a.date for a in assessments[1:] if a.date > start]
    if adequate:
        end, source = max(adequate), CensorDateSource.LAST_TUMOR_ASSESSMENT
    else:
        end, source = start, CensorDateSource.RANDOMIZATION
    if subject.withdrawal_date is not None and known(subject.withdrawal_date):
        reason = CensorReason(subject.withdrawal_reason)
    elif adequate:
        reason = CensorReason.EVENT_FREE
    else:
        reason = CensorReason.NO_ADEQUATE_ASSESSMENT
    return PfsResult(
        event=False,
        event_type=None,
        start_date=start,
        end_date=end,
        days=pfs_days(start, end),
        censor_reason=reason,
        censor_date_source=source,
        data_cutoff=data_cutoff,
    )
