"""From stored follow-up records to the PFS derivation's inputs: pure functions, no I/O.

Conventions (docs/protocol/pfs.md § Derivation for one subject, docs/protocol/data-standards.md
§ CDISC ADaM ADTTE; the clinical rules themselves are in `pfs.py`, `recist.py`, `gcig.py`):
- Knowledge at a data cut-off: a record counts if it was *created* on or before the cut-off day
  (UTC), and a correction supersedes its original only from its own creation. The domain then
  also ignores facts *dated* after the cut-off. So an analysis at a past cut-off reproduces what
  could have been known that day, corrections made later included.
- RECIST: the first current assessment (by date) is the baseline; every record is dated on or
  after randomization, so the baseline is the assessment at randomization.
- CA-125 (GCIG): the first current value is the baseline, the later ones the follow-up; surgery
  dates are peritoneal interferences (values within the protocol's window after are not
  evaluable); the ULN is the protocol's.
- End of follow-up: a withdrawal (its date) or lost to follow-up (the last contact date); facts
  dated after it are ignored by the PFS derivation.
- ADTTE: USUBJID is the subject id, STRATA the stratum as "factor=level" pairs sorted by factor
  and joined by ";", INVALFL "Y" when the allocation was invalidated by the cut-off. Rows are in
  USUBJID order, so that an exported data set analysed again gives the very same numbers.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from rescue_followup.domain.adtte import AdtteRow, build_adtte_row
from rescue_followup.domain.gcig import Ca125Value
from rescue_followup.domain.pfs import Ca125Series, PfsResult, PfsSubject, derive_pfs
from rescue_followup.domain.protocol import FollowupProtocol, ProtocolOf
from rescue_followup.domain.recist import RecistAssessment

END_OF_FOLLOW_UP_TYPES = frozenset({"withdrawal", "lost_to_followup"})


class StoredRecord(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def assessment_date(self) -> dt.date: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def supersedes_id(self) -> str | None: ...
    @property
    def created_at(self) -> dt.datetime: ...


R = TypeVar("R", bound=StoredRecord)


class RegisteredSubject(Protocol):
    @property
    def subject_id(self) -> str: ...
    @property
    def arm(self) -> str: ...
    @property
    def stratum(self) -> dict[str, str]: ...
    @property
    def randomization_date(self) -> dt.date: ...
    @property
    def protocol_version(self) -> str: ...
    @property
    def invalidated(self) -> bool: ...
    @property
    def invalidated_at(self) -> dt.datetime | None: ...


def known_by(cutoff: dt.date | None) -> dt.datetime | None:
    """The first instant after the cut-off day (UTC): what was created before it was known."""
    if cutoff is None:
        return None
    return dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


_CHRONOLOGICAL = operator.attrgetter("assessment_date", "created_at", "id")


def current_records(records: Iterable[R], cutoff: dt.date | None = None) -> list[R]:
    """Records in force at the cut-off (now when None): known then, and not yet superseded,
    in date order (then creation, then id)."""
    limit = known_by(cutoff)
    known = list(records) if limit is None else [r for r in records if r.created_at < limit]
    superseded = {r.supersedes_id for r in known if r.supersedes_id is not None}
    current = [r for r in known if r.id not in superseded] if superseded else known
    return sorted(current, key=_CHRONOLOGICAL)


def _earliest(ends: Sequence[StoredRecord]) -> StoredRecord | None:
    return min(ends, key=lambda r: r.assessment_date) if ends else None


def end_of_follow_up(records: Sequence[StoredRecord]) -> StoredRecord | None:
    """The current withdrawal or lost-to-follow-up record (the earliest if, oddly, several)."""
    return _earliest([r for r in records if r.type in END_OF_FOLLOW_UP_TYPES])


def pfs_subject(
    randomization_date: dt.date, records: Sequence[StoredRecord], protocol: FollowupProtocol
) -> PfsSubject:
    """The domain's view of one subject from her current records (one pass over them: the live
    analysis calls this for every subject)."""
    recist: list[RecistAssessment] = []
    values: list[Ca125Value] = []
    surgeries: list[dt.date] = []
    deaths: list[dt.date] = []
    ends: list[StoredRecord] = []
    for r in records:
        kind = r.type
        if kind == "recist":
            data = r.data
            recist.append(RecistAssessment(
                date=r.assessment_date, target_sum_mm=data["target_lesion_sum_mm"],
                new_lesions=data["new_lesions"], non_target_pd=data["non_target_progression"]))
        elif kind == "ca125":
            values.append(Ca125Value(date=r.assessment_date, value_u_ml=r.data["value"]))
        elif kind == "surgery":
            surgeries.append(r.assessment_date)
        elif kind == "death":
            deaths.append(r.assessment_date)
        elif kind in END_OF_FOLLOW_UP_TYPES:
            ends.append(r)
    ca125 = None
    if values:
        ca125 = Ca125Series(
            baseline=values[0], values=tuple(values[1:]), uln_u_ml=protocol.ca125.uln_u_ml,
            interference_dates=tuple(surgeries),
            interference_window_days=protocol.ca125.interference_window_days)
    end = _earliest(ends)
    return PfsSubject(
        randomization_date=randomization_date, recist_assessments=tuple(recist), ca125=ca125,
        death_date=min(deaths) if deaths else None,
        withdrawal_date=end.assessment_date if end else None,
        withdrawal_reason="lost_to_follow_up" if end and end.type == "lost_to_followup"
        else "withdrawn",
    )


def derive_subject_pfs(
    subject: RegisteredSubject, records: Iterable[StoredRecord], protocol_of: ProtocolOf,
    cutoff: dt.date | None = None,
) -> PfsResult:
    """PFS of a subject from everything recorded, as known at the cut-off, under the protocol
    version she was registered with (`protocol_of(version)`)."""
    current = current_records(records, cutoff)
    return derive_pfs(
        pfs_subject(subject.randomization_date, current, protocol_of(subject.protocol_version)),
        data_cutoff=cutoff)


def strata_label(stratum: Mapping[str, str]) -> str:
    return ";".join(f"{key}={stratum[key]}" for key in sorted(stratum))


def invalidated_by(subject: RegisteredSubject, cutoff: dt.date | None) -> bool:
    if not subject.invalidated:
        return False
    limit = known_by(cutoff)
    return limit is None or subject.invalidated_at is None or subject.invalidated_at < limit


def adtte_rows(
    subjects: Iterable[RegisteredSubject],
    records_by_subject: Mapping[str, Sequence[StoredRecord]],
    protocol_of: ProtocolOf,
    cutoff: dt.date | None = None,
) -> list[AdtteRow]:
    """One PFS row per subject randomized by the cut-off, in USUBJID order."""
    rows = []
    for subject in sorted(subjects, key=lambda s: s.subject_id):
        if cutoff is not None and subject.randomization_date > cutoff:
            continue
        pfs = derive_subject_pfs(subject, records_by_subject.get(subject.subject_id, ()),
                                 protocol_of, cutoff)
        rows.append(build_adtte_row(subject.subject_id, subject.arm,
                                    strata_label(subject.stratum), pfs,
                                    invalidated=invalidated_by(subject, cutoff)))
    return rows
