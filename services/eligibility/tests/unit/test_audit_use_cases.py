"""What eligibility's use cases append to the audit trail, on in-memory fakes."""

from __future__ import annotations

from datetime import date

import pytest
from eligibility_fakes import FakeEligibilityUnitOfWork, FakeStore
from harness import ELIGIBLE_FACTS

from rescue_eligibility.domain.facts import ClinicalFacts
from rescue_eligibility.service_layer import screenings
from rescue_shared.audit.chain import verify_entries
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import Invalid

S01 = Principal(sub="nurse-1", site_id="S01", roles=frozenset({"site_user"}))
S02 = Principal(sub="doctor-2", site_id="S02", roles=frozenset({"investigator"}))


async def screen(store: FakeStore, subject_id: str, caller: Principal = S01) -> None:
    await screenings.screen_subject(
        FakeEligibilityUnitOfWork(store), caller, subject_id=subject_id,
        screening_date=date(2026, 3, 2), facts=ClinicalFacts.model_validate(ELIGIBLE_FACTS))


async def test_a_refused_screening_leaves_only_the_refusal_in_the_trail() -> None:
    store = FakeStore()
    await screen(store, "S01-0001")
    with pytest.raises(Invalid):
        await screen(store, "S01-0001", S02)
    recorded, refused = store.audit.entries
    assert (recorded.action, recorded.actor, recorded.site_id) == (
        "screening.recorded", "nurse-1", "S01")
    assert (refused.action, refused.actor, refused.actor_roles, refused.site_id) == (
        "subject_id.refused", "doctor-2", ["investigator"], "S02")
    assert refused.after == {"action": "screening", "cause": "another_site"}
    assert verify_entries(store.audit.entries, store.audit.head).valid


async def test_a_screening_log_download_is_an_audited_export() -> None:
    store = FakeStore()
    await screen(store, "S01-0001")
    await screenings.export_screening_log(FakeEligibilityUnitOfWork(store), S01)
    await screenings.screening_log(FakeEligibilityUnitOfWork(store), S01)  # not a download
    assert [e.action for e in store.audit.entries] == ["screening.recorded", "export.downloaded"]
    assert store.audit.entries[-1].after == {"export": "screening-log.csv", "rows": 1,
                                             "scope_site_id": "S01"}
