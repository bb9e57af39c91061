from __future__ import annotations

import datetime as dt

import pytest

from rescue_followup.domain.gcig import Ca125Value
from rescue_followup.domain.pfs import (
    Ca125Series,
    CensorDateSource,
    CensorReason,
    PfsEventType,
    PfsSubject,
    derive_pfs,
    pfs_days,
)
from rescue_followup.domain.recist import RecistAssessment

RAND = dt.date(2026, 1, 1)
BASELINE_SCAN = RecistAssessment(date=dt.date(2025, 12, 20), target_sum_mm=50)


def scan(date: dt.date, total: float = 50, new: bool = False) -> RecistAssessment:
    return RecistAssessment(date=date, target_sum_mm=total, new_lesions=new)


def ca(date: dt.date, value: float) -> Ca125Value:
    return Ca125Value(date=date, value_u_ml=value)


def test_aval_plus_one_convention() -> None:
    assert pfs_days(RAND, RAND) == 1
    assert pfs_days(RAND, dt.date(2026, 4, 1)) == 91  # 90 elapsed days + 1


def test_no_assessment_is_censored_at_randomization() -> None:
    for subject in (
        PfsSubject(randomization_date=RAND),
        PfsSubject(randomization_date=RAND, recist_assessments=(BASELINE_SCAN,)),
    ):
        result = derive_pfs(subject)
        assert not result.event and result.event_type is None
        assert (result.start_date, result.end_date, result.days) == (RAND, RAND, 1)
        assert result.censor_reason is CensorReason.NO_ADEQUATE_ASSESSMENT
        assert result.censor_date_source is CensorDateSource.RANDOMIZATION


def test_event_free_is_censored_at_last_tumour_assessment_not_at_ca125() -> None:
    subject = PfsSubject(
        randomization_date=RAND,
        recist_assessments=(BASELINE_SCAN, scan(dt.date(2026, 4, 1)), scan(dt.date(2026, 7, 1))),
        ca125=Ca125Series(
            baseline=ca(dt.date(2025, 12, 20), 20), values=(ca(dt.date(2026, 9, 1), 20),)
        ),
    )
    result = derive_pfs(subject)
    assert not result.event
    assert result.end_date == dt.date(2026, 7, 1)
    assert result.days == 182
    assert result.censor_reason is CensorReason.EVENT_FREE
    assert result.censor_date_source is CensorDateSource.LAST_TUMOR_ASSESSMENT


def test_ca125_only_follow_up_is_censored_at_randomization() -> None:
    subject = PfsSubject(
        randomization_date=RAND,
        ca125=Ca125Series(
            baseline=ca(dt.date(2025, 12, 20), 20), values=(ca(dt.date(2026, 3, 1), 20),)
        ),
    )
    result = derive_pfs(subject)
    assert (result.end_date, result.censor_date_source) == (RAND, CensorDateSource.RANDOMIZATION)


def test_recist_progression_event() -> None:
    subject = PfsSubject(
        randomization_date=RAND,
        recist_assessments=(
            BASELINE_SCAN,
            scan(dt.date(2026, 4, 1), 30),
            scan(dt.date(2026, 7, 1), 36),
        ),
    )
    result = derive_pfs(subject)
    assert result.event and result.event_type is PfsEventType.PROGRESSION_RECIST
    assert (result.end_date, result.days) == (dt.date(2026, 7, 1), 182)
    assert result.recist_progression is not None and result.censor_reason is None


def test_ca125_progression_dated_at_first_value_wins_over_later_recist() -> None:
    subject = PfsSubject(
        randomization_date=RAND,
        recist_assessments=(BASELINE_SCAN, scan(dt.date(2026, 3, 5), new=True)),
        ca125=Ca125Series(
            baseline=ca(dt.date(2025, 12, 20), 20),
            values=(ca(dt.date(2026, 3, 1), 80), ca(dt.date(2026, 3, 10), 90)),
        ),
    )
    result = derive_pfs(subject)
    assert result.event_type is PfsEventType.PROGRESSION_CA125
    assert result.end_date == dt.date(2026, 3, 1)
    assert result.ca125_progression is not None and result.recist_progression is None


def test_same_day_tie_prefers_recist_then_ca125_then_death() -> None:
    day = dt.date(2026, 3, 1)
    subject = PfsSubject(
        randomization_date=RAND,
        recist_assessments=(BASELINE_SCAN, scan(day, new=True)),
        ca125=Ca125Series(
            baseline=ca(dt.date(2025, 12, 20), 20),
            values=(ca(day, 80), ca(dt.date(2026, 3, 8), 80)),
        ),
        death_date=day,
    )
    assert derive_pfs(subject).event_type is PfsEventType.PROGRESSION_RECIST


def test_death_without_progression_including_on_randomization_day() -> None:
    result = derive_pfs(PfsSubject(randomization_date=RAND, death_date=RAND))
    assert result.event and result.event_type is PfsEventType.DEATH and result.days == 1


def test_cutoff_ignores_later_facts_and_censors_at_last_assessment_before_it() -> None:
    subject = PfsSubject(
        randomization_date=RAND,
        recist_assessments=(
            BASELINE_SCAN,
            scan(dt.date(2026, 4, 1)),
            scan(dt.date(2026, 7, 1), new=True),
        ),
        death_date=dt.date(2026, 8, 1),
    )
    before = derive_pfs(subject, data_cutoff=dt.date(2026, 6, 30))
    assert not before.event
    assert before.end_date == dt.date(2026, 4, 1)  # not the cut-off date
    assert before.censor_reason is CensorReason.EVENT_FREE
    assert before.data_cutoff == dt.date(2026, 6, 30)
    on_day = derive_pfs(subject, data_cutoff=dt.date(2026, 7, 1))
    assert on_day.event and on_day.end_date == dt.date(2026, 7, 1)


def test_cutoff_between_ca125_value_and_its_confirmation_is_no_event() -> None:
    subject = PfsSubject(
        randomization_date=RAND,
        recist_assessments=(BASELINE_SCAN, scan(dt.date(2026, 2, 1))),
        ca125=Ca125Series(
            baseline=ca(dt.date(2025, 12, 20), 20),
            values=(ca(dt.date(2026, 3, 1), 80), ca(dt.date(2026, 3, 10), 90)),
        ),
    )
    assert not derive_pfs(subject, data_cutoff=dt.date(2026, 3, 9)).event
    confirmed = derive_pfs(subject, data_cutoff=dt.date(2026, 3, 10))
    assert confirmed.event and confirmed.end_date == dt.date(2026, 3, 1)


def test_death_after_cutoff_is_ignored() -> None:
    subject = PfsSubject(randomization_date=RAND, death_date=dt.date(2026, 5, 1))
    assert not derive_pfs(subject, data_cutoff=dt.date(2026, 4, 30)).event


@pytest.mark.parametrize("reason", ["withdrawn", "lost_to_follow_up"])
def test_withdrawal_censors_at_last_assessment_and_ignores_later_facts(reason: str) -> None:
    subject = PfsSubject(
        randomization_date=RAND,
        recist_assessments=(
            BASELINE_SCAN,
            scan(dt.date(2026, 4, 1)),
            scan(dt.date(2026, 9, 1), new=True),
        ),
        death_date=dt.date(2026, 10, 1),
        withdrawal_date=dt.date(2026, 5, 1),
        withdrawal_reason=reason,
    )
    result = derive_pfs(subject)
    assert not result.event
    assert result.end_date == dt.date(2026, 4, 1)
    assert result.censor_reason == CensorReason(reason)
    # A withdrawal after the cut-off was not known at the cut-off.
    late = derive_pfs(subject, data_cutoff=dt.date(2026, 4, 15))
    assert late.censor_reason is CensorReason.EVENT_FREE


def test_event_before_randomization_is_rejected() -> None:
    with pytest.raises(ValueError, match="precedes randomization"):
        derive_pfs(PfsSubject(randomization_date=RAND, death_date=dt.date(2025, 12, 31)))


def test_result_serialises_to_json() -> None:
    result = derive_pfs(PfsSubject(randomization_date=RAND, death_date=dt.date(2026, 2, 1)))
    dumped = result.model_dump(mode="json")
    assert dumped["event_type"] == "death" and dumped["end_date"] == "2026-02-01"
    assert dumped["days"] == 32
