"""The CONSORT flow from what every service announced, plus follow-up's own records (pure).

CONSORT 2010 flow diagram (docs/protocol/pfs.md § Primary analysis for the populations).

Per subject, the latest known state decides her box (latest = occurred last, whatever order the
events arrived in):
- randomized (randomization.assigned) -> allocation to her arm;
- otherwise, with a final decision: eligibility.rejected -> excluded, not meeting inclusion
  criteria (reasons = the rejection's failed criteria); eligibility.confirmed -> excluded,
  eligible but not randomized;
- otherwise her latest screening (eligibility.screened): ineligible -> excluded, not meeting
  inclusion criteria (its failed criteria); incomplete, or eligible awaiting the prediction ->
  awaiting the eligibility decision.
So assessed = excluded + awaiting + randomized. "Predicted" counts subjects with a
prediction.completed (latest version's classification).
Per arm: received the allocated intervention = a surgery record for SCS_CHEMO, no surgery record
for CHEMO (chemotherapy itself is not recorded by follow-up); lost to follow-up and withdrawn =
current records of those kinds; analysed = the population's subjects (ITT: all allocated;
excluding_invalidated: without invalidated allocations).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from rescue_followup.domain.adtte import ARMS, EXPERIMENTAL_ARM
from rescue_followup.domain.analysis import Population
from rescue_followup.domain.records import StoredRecord, current_records


class Screened(Protocol):
    @property
    def subject_id(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def failed_criteria(self) -> list[str] | None: ...


class Decided(Protocol):
    @property
    def subject_id(self) -> str: ...
    @property
    def decision(self) -> str: ...
    @property
    def failed_criteria(self) -> list[str]: ...


class Predicted(Protocol):
    @property
    def subject_id(self) -> str: ...
    @property
    def classification(self) -> str: ...


class Allocated(Protocol):
    @property
    def subject_id(self) -> str: ...
    @property
    def arm(self) -> str: ...
    @property
    def invalidated(self) -> bool: ...


class Exclusions(BaseModel):
    total: int
    not_meeting_inclusion_criteria: int
    by_criterion: dict[str, int] = Field(description="Subjects failing each criterion.")
    eligible_not_randomized: int


class Enrollment(BaseModel):
    assessed_for_eligibility: int
    excluded: Exclusions
    awaiting_eligibility_decision: int
    predicted: int
    predicted_by_classification: dict[str, int]
    randomized: int


class ArmFlow(BaseModel):
    arm: str
    allocated: int
    received_allocated_intervention: int
    did_not_receive_allocated_intervention: int
    lost_to_follow_up: int
    withdrawn: int
    invalidated: int
    analysed: int
    excluded_from_analysis: int


class ConsortFlow(BaseModel):
    screened_subjects: int = Field(description="Subjects with at least one screening.")
    screenings: int
    latest_outcome_by_subject: dict[str, int] = Field(
        description="Subjects by the outcome of their latest screening.")
    population: Population
    enrollment: Enrollment
    allocation: list[ArmFlow]


def _occurred_before(one: Screened, other: Screened) -> bool:
    """True when both times are known and `one` occurred before `other` (a late replay)."""
    at, other_at = getattr(one, "occurred_at", None), getattr(other, "occurred_at", None)
    return at is not None and other_at is not None and at < other_at


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def build_consort(
    screenings: Sequence[Screened], decisions: Iterable[Decided],
    predictions: Iterable[Predicted], subjects: Iterable[Allocated],
    records_by_subject: Mapping[str, Sequence[StoredRecord]],
    population: Population = "itt",
) -> ConsortFlow:
    """`screenings` in the order they were announced; a subject's latest screening is the one
    that occurred last (`occurred_at` where known, else the later announced)."""
    latest: dict[str, Screened] = {}
    for screening in screenings:
        known = latest.get(screening.subject_id)
        if known is None or not _occurred_before(screening, known):
            latest[screening.subject_id] = screening
    decided = {d.subject_id: d for d in decisions}
    allocated = {s.subject_id: s for s in subjects}
    predicted = {p.subject_id: p.classification for p in predictions}

    not_meeting: list[list[str]] = []
    eligible_not_randomized = awaiting = 0
    for subject_id in sorted(set(latest) | set(decided)):
        if subject_id in allocated:
            continue
        decision = decided.get(subject_id)
        if decision is not None:
            if decision.decision == "rejected":
                not_meeting.append(list(decision.failed_criteria))
            else:
                eligible_not_randomized += 1
        elif latest[subject_id].outcome == "ineligible":
            not_meeting.append(list(latest[subject_id].failed_criteria or ["unspecified"]))
        else:
            awaiting += 1
    excluded = Exclusions(
        total=len(not_meeting) + eligible_not_randomized,
        not_meeting_inclusion_criteria=len(not_meeting),
        by_criterion=_count(c for criteria in not_meeting for c in dict.fromkeys(criteria)),
        eligible_not_randomized=eligible_not_randomized)
    enrollment = Enrollment(
        assessed_for_eligibility=excluded.total + awaiting + len(allocated),
        excluded=excluded, awaiting_eligibility_decision=awaiting, predicted=len(predicted),
        predicted_by_classification=_count(predicted.values()), randomized=len(allocated))
    return ConsortFlow(
        screened_subjects=len(latest), screenings=len(screenings),
        latest_outcome_by_subject=_count(s.outcome for s in latest.values()),
        population=population, enrollment=enrollment,
        allocation=[_arm_flow(arm, [s for s in allocated.values() if s.arm == arm],
                              records_by_subject, population) for arm in ARMS])


def _arm_flow(
    arm: str, subjects: Sequence[Allocated],
    records_by_subject: Mapping[str, Sequence[StoredRecord]], population: Population,
) -> ArmFlow:
    kinds: dict[str, set[str]] = {}
    for subject in subjects:
        current = current_records(records_by_subject.get(subject.subject_id, ()))
        kinds[subject.subject_id] = {r.type for r in current}
    with_surgery = sum("surgery" in kinds[s.subject_id] for s in subjects)
    received = with_surgery if arm == EXPERIMENTAL_ARM else len(subjects) - with_surgery
    invalidated = sum(s.invalidated for s in subjects)
    excluded = invalidated if population == "excluding_invalidated" else 0
    return ArmFlow(
        arm=arm, allocated=len(subjects), received_allocated_intervention=received,
        did_not_receive_allocated_intervention=len(subjects) - received,
        lost_to_follow_up=sum("lost_to_followup" in kinds[s.subject_id] for s in subjects),
        withdrawn=sum("withdrawal" in kinds[s.subject_id] for s in subjects),
        invalidated=invalidated, analysed=len(subjects) - excluded,
        excluded_from_analysis=excluded)

