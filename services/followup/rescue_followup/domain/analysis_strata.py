"""The stratum a subject contributes to the stratified analysis: as randomized, or as verified
against source data (docs/protocol/randomization.md § Stratification errors).

A verification counts at a cut-off only if it was made by then (recorded before the first
instant after the cut-off day, as every record): an analysis at a past cut-off does not use a
correction made later. Follow-up keeps the latest verification of each subject, so when that
one is later than the cut-off, the stratum as randomized is used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

from rescue_followup.domain.model import Subject
from rescue_followup.domain.protocol import StrataChoice
from rescue_followup.domain.records import known_by


def verified_by_cutoff(subject: Subject, cutoff: dt.date | None) -> dict[str, str] | None:
    """The stratum as verified by the cut-off (every factor), None when not verified by then."""
    if subject.verified_stratum is None or subject.strata_verified_at is None:
        return None
    limit = known_by(cutoff)
    if limit is not None and subject.strata_verified_at >= limit:
        return None
    return {**subject.stratum, **subject.verified_stratum}


def with_analysis_strata(
    subjects: Iterable[Subject], strata: StrataChoice, cutoff: dt.date | None
) -> list[Subject]:
    """The subjects with `stratum` set to the one the analysis uses."""
    if strata == "randomized":
        return list(subjects)
    return [replace(s, stratum=verified_by_cutoff(s, cutoff) or s.stratum) for s in subjects]
