"""What follow-up's use cases append to the audit trail, on in-memory fakes."""

from __future__ import annotations

import datetime as dt

import pytest
from followup_fakes import FakeFollowupUnitOfWork, FakeStore

from rescue_followup.service_layer import assessments, registration
from rescue_followup.service_layer.assessments import NewRecord
from rescue_shared.audit.chain import verify_entries
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import Conflict

RANDOMIZED = dt.date(2024, 1, 10)
NURSE = Principal(sub="nurse-1", site_id="S01", roles=frozenset({"site_user"}))
REASON = "sum mistyped on the form"


def recist(offset: int, total: float, **correction: str) -> NewRecord:
    day = RANDOMIZED + dt.timedelta(days=offset)
    return NewRecord(type="recist", date=day, date_field="date",
                     data={"date": day.isoformat(), "target_lesion_sum_mm": total,
                           "new_lesions": False, "non_target_progression": False},
                     **correction)


async def registered(store: FakeStore) -> None:
    uow = FakeFollowupUnitOfWork(store)
    await registration.register_subject(
        uow, subject_id="S01-0001", site_id="S01", randomization_number="R-1", arm="CHEMO",
        stratum={"pfi": ">12"}, randomization_date=RANDOMIZED, scheme="blocks",
        event_id="event-1")
    await uow.commit()


async def test_a_recist_correction_shows_the_superseded_record_and_why() -> None:
    store = FakeStore()
    await registered(store)
    wrong, _ = await assessments.record_assessment(
        FakeFollowupUnitOfWork(store), NURSE, "S01-0001", recist(90, 70.0))
    await assessments.record_assessment(
        FakeFollowupUnitOfWork(store), NURSE, "S01-0001",
        recist(90, 55.0, supersedes=wrong.id, correction_reason=REASON))
    registered_entry, recorded, corrected = store.audit.entries
    assert (registered_entry.action, registered_entry.event_id) == (
        "subject.registered", "event-1")
    assert recorded.action == "assessment.recorded" and recorded.before is None
    assert corrected.action == "assessment.corrected" and corrected.reason == REASON
    assert corrected.before == recorded.after
    assert corrected.before["data"]["target_lesion_sum_mm"] == 70.0
    assert corrected.after["data"]["target_lesion_sum_mm"] == 55.0
    assert corrected.after["supersedes"] == wrong.id
    assert verify_entries(store.audit.entries, store.audit.head).valid


async def test_a_refused_record_appends_nothing() -> None:
    store = FakeStore()
    await registered(store)
    await assessments.record_assessment(FakeFollowupUnitOfWork(store), NURSE, "S01-0001",
                                        recist(90, 70.0))
    with pytest.raises(Conflict):
        await assessments.record_assessment(FakeFollowupUnitOfWork(store), NURSE, "S01-0001",
                                            recist(90, 71.0))
    assert [e.action for e in store.audit.entries] == ["subject.registered",
                                                       "assessment.recorded"]
