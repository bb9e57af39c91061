"""Allocation and invalidation use cases on the in-memory unit of work: each rule, each refusal.

The same rules are shown through HTTP on both databases in tests/integration; here they run in
milliseconds and check what is committed (records, audit entries, events) directly.
"""

from __future__ import annotations

import pytest
from randomization_fakes import (
    ADMIN,
    INVESTIGATOR,
    OTHER_SITE,
    SITE_USER,
    FakeRandomizationUnitOfWork,
    FakeStore,
    allocate,
    deliver,
    entries,
    make_eligible,
)
from randomization_support import predicted, rejected, screened

from rescue_randomization.domain.audit_chain import GENESIS_HASH
from rescue_randomization.service_layer import allocations, audit
from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.events import RandomizationAssigned, RandomizationInvalidated
from rescue_shared.errors import Conflict, Forbidden, Invalid, NotFound


async def test_a_randomizable_subject_is_allocated_with_her_stratum_and_announced() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001", platinum_free_interval_months=9.5)

    uow, view = await allocate(store, "S01-0001", maintenance="parp_inhibitor")

    assert view.randomization_number == "R-00001" and view.status == "valid"
    assert view.stratum == {"site": "S01", "pfi": "6-12", "maintenance": "parp_inhibitor"}
    [assigned] = uow.payloads(RandomizationAssigned)
    assert assigned.arm == view.arm and assigned.stratum == view.stratum
    assert assigned.randomization_date == view.randomization_date
    assert uow.committed[0].subject_id == "S01-0001" and uow.committed[0].site_id == "S01"
    stored = await FakeRandomizationUnitOfWork(store).allocations.of_subject("S01-0001")
    assert stored is not None and stored.slot_index == 0 and stored.sequence == 0
    types = [e.entry_type for e in await entries(store)]
    assert types == ["trial_set_up", "allocation"]


async def test_the_audit_head_is_locked_before_anything_is_read() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    uow, _ = await allocate(store, "S01-0001")
    assert uow.journal[0] == "audit.lock_head"
    assert uow.journal.count("audit.lock_head") == 1  # once: no refusal, no retry


async def test_consecutive_allocations_number_and_slot_in_order() -> None:
    store = FakeStore()
    for n in range(1, 5):
        await make_eligible(store, f"S01-000{n}")
        _, view = await allocate(store, f"S01-000{n}")
        assert view.randomization_number == f"R-0000{n}"
    stored = await FakeRandomizationUnitOfWork(store).allocations.in_order()
    assert [a.slot_index for a in stored] == [0, 1, 2, 3]
    trial = await FakeRandomizationUnitOfWork(store).trials.get()
    assert trial is not None and trial.allocations == 4


async def test_a_token_without_a_site_is_forbidden_and_nothing_is_written() -> None:
    store = FakeStore()
    with pytest.raises(Forbidden):
        await allocate(store, "S01-0001", ADMIN)
    assert await entries(store) == []


async def test_consent_not_confirmed_is_invalid_and_the_refusal_audited() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    with pytest.raises(Invalid) as refused:
        await allocate(store, "S01-0001", consent=False)
    assert refused.value.extensions["errors"][0]["field"] == "consent_confirmed"
    refusal = (await entries(store))[-1]
    assert refusal.entry_type == "refusal" and refusal.subject_id == "S01-0001"
    assert refusal.details["action"] == "allocation" and refusal.details["status"] == 422
    assert refusal.details["errors"] == refused.value.extensions["errors"]
    assert await FakeRandomizationUnitOfWork(store).allocations.in_order() == []


@pytest.mark.parametrize(("maintenance", "rule"), [(None, "missing"), ("chemo", "enum")])
async def test_an_invalid_request_fact_is_named(maintenance: str | None, rule: str) -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    with pytest.raises(Invalid) as refused:
        await allocate(store, "S01-0001", maintenance=maintenance)
    assert refused.value.detail == "invalid field(s): planned_maintenance"
    assert refused.value.extensions["errors"][0]["rule"] == rule


async def test_an_unknown_and_another_sites_subject_are_refused_alike() -> None:
    store = FakeStore()
    await make_eligible(store, "S02-0001", site="S02")
    problems = []
    for subject in ("S01-0404", "S02-0001"):
        with pytest.raises(Conflict) as refused:
            await allocate(store, subject)
        problems.append((refused.value.title, refused.value.extensions["missing"]))
    assert problems == [("Not randomizable", ["screened"])] * 2


async def test_every_unmet_condition_is_named() -> None:
    store = FakeStore()
    await deliver(store, screened("S01-0001", platinum_free_interval_months=None))
    with pytest.raises(Conflict) as refused:
        await allocate(store, "S01-0001")
    assert refused.value.extensions["missing"] == [
        "eligibility_confirmed", "prediction_highly_likely_complete_resection", "strata_facts"]
    refusal = (await entries(store))[-1]
    assert refusal.details["unmet_conditions"] == refused.value.extensions["unmet_conditions"]


async def test_a_rejected_subject_is_refused_with_the_reason() -> None:
    store = FakeStore()
    screening = screened("S01-0001")
    await deliver(store, screening, rejected(screening), predicted("S01-0001"))
    with pytest.raises(Conflict) as refused:
        await allocate(store, "S01-0001")
    assert "eligibility rejected: INC-05 not met" in refused.value.detail


async def test_a_second_randomization_carries_the_existing_one() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    _, first = await allocate(store, "S01-0001")
    with pytest.raises(Conflict) as refused:
        await allocate(store, "S01-0001")
    assert refused.value.title == "Already randomized"
    assert refused.value.extensions["randomization"] == first.model_dump(mode="json")


async def test_a_unique_constraint_at_commit_answers_with_the_existing_allocation() -> None:
    """Two allocations of one subject racing past the checks: the commit refuses the second."""
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    racing = FakeRandomizationUnitOfWork(store)  # opened before the first one commits
    _, first = await allocate(store, "S01-0001")
    with pytest.raises(Conflict) as refused:
        await allocations.allocate(racing, SITE_USER, subject_id="S01-0001",
                                   consent_confirmed=True, planned_maintenance="none",
                                   protocol_version="1", timezone="Asia/Seoul")
    assert refused.value.title == "Already randomized"
    assert refused.value.extensions["randomization"]["randomization_number"] == \
        first.randomization_number
    assert len(await FakeRandomizationUnitOfWork(store).allocations.in_order()) == 1


async def test_a_locked_trial_allocates_no_more() -> None:
    from rescue_randomization.service_layer import trial

    store = FakeStore()
    await make_eligible(store, "S01-0001")
    await trial.lock(FakeRandomizationUnitOfWork(store), ADMIN, protocol_version="1",
                     trial_id="NCT07295132")
    with pytest.raises(Conflict) as refused:
        await allocate(store, "S01-0001")
    assert refused.value.title == "Trial locked"


async def test_a_randomization_is_seen_by_its_site_and_the_trial_team_only() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    _, view = await allocate(store, "S01-0001")
    uow = FakeRandomizationUnitOfWork(store)
    assert await allocations.get_randomization(uow, ADMIN, "S01-0001") == view
    for actor, subject in ((OTHER_SITE, "S01-0001"), (SITE_USER, "S01-0404")):
        with pytest.raises(NotFound, match=f"randomization of subject {subject} not found"):
            await allocations.get_randomization(uow, actor, subject)


async def test_a_user_of_two_sites_randomizes_and_reads_at_both_not_a_third() -> None:
    store = FakeStore()
    for subject, site in (("S01-0001", "S01"), ("S02-0001", "S02"), ("S03-0001", "S03")):
        await make_eligible(store, subject, site=site)
    nurse = Principal(sub="n", roles=frozenset({"site_user"}), sites=frozenset({"S01", "S02"}))
    for subject in ("S01-0001", "S02-0001"):
        _, view = await allocate(store, subject, nurse)
        assert await allocations.get_randomization(
            FakeRandomizationUnitOfWork(store), nurse, subject) == view
    with pytest.raises(Conflict) as unknown:  # a third site's subject: answered as unknown
        await allocate(store, "S03-0001", nurse)
    assert unknown.value.extensions["missing"] == ["screened"]
    assert [a.site_id for a in store.tables["allocations"].values()] == ["S01", "S02"]


async def test_the_list_is_in_order_and_its_export_audited() -> None:
    store = FakeStore()
    for subject, site in (("S01-0001", "S01"), ("S02-0001", "S02")):
        await make_eligible(store, subject, site=site)
        await allocate(store, subject, Principal(sub="u", site_id=site,
                                                 roles=frozenset({"site_user"})))
    monitor = Principal(sub="monitor", site_id=None, roles=frozenset({"monitor"}))
    views = await allocations.list_randomizations(
        FakeRandomizationUnitOfWork(store), monitor, protocol_version="1", site_id="S02",
        export_format="csv")
    assert [v.subject_id for v in views] == ["S02-0001"]
    export = (await entries(store))[-1]
    assert export.entry_type == "export"
    assert export.details == {"export": "randomizations", "format": "csv", "site_id": "S02",
                              "rows": 1}


async def test_an_invalidation_keeps_the_allocation_with_who_when_why() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    await allocate(store, "S01-0001")
    uow = FakeRandomizationUnitOfWork(store)

    view = await allocations.invalidate(uow, INVESTIGATOR, subject_id="S01-0001",
                                        reason="  randomized the wrong subject  ",
                                        protocol_version="1")

    assert view.status == "invalidated" and view.invalidation is not None
    assert view.invalidation.reason == "randomized the wrong subject"
    assert view.invalidation.invalidated_by == "investigator"
    [event] = uow.payloads(RandomizationInvalidated)
    assert event.reason == "randomized the wrong subject"
    assert (await entries(store))[-1].entry_type == "invalidation"
    with pytest.raises(Conflict) as again:  # she cannot be randomized again
        await allocate(store, "S01-0001")
    assert "invalidated; she cannot be randomized again" in again.value.detail


@pytest.mark.parametrize(("actor", "subject", "reason", "error", "title"), [
    (INVESTIGATOR, "S01-0404", "a wrong subject here", NotFound, "Not found"),
    (Principal(sub="i2", site_id="S02", roles=frozenset({"investigator"})), "S01-0001",
     "a wrong subject here", NotFound, "Not found"),
    (INVESTIGATOR, "S01-0001", "x.y.z......", Invalid, "Invalid request"),
])
async def test_invalidation_refusals_are_audited(
    actor: Principal, subject: str, reason: str, error: type[Exception], title: str,
) -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    await allocate(store, "S01-0001")
    with pytest.raises(error):
        await allocations.invalidate(FakeRandomizationUnitOfWork(store), actor,
                                     subject_id=subject, reason=reason, protocol_version="1")
    refusal = (await entries(store))[-1]
    assert refusal.entry_type == "refusal" and refusal.details["action"] == "invalidation"
    assert refusal.details["title"] == title


async def test_an_allocation_is_invalidated_once() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    await allocate(store, "S01-0001")
    await allocations.invalidate(FakeRandomizationUnitOfWork(store), INVESTIGATOR,
                                 subject_id="S01-0001", reason="randomized in plain error",
                                 protocol_version="1")
    with pytest.raises(Conflict) as refused:
        await allocations.invalidate(FakeRandomizationUnitOfWork(store), INVESTIGATOR,
                                     subject_id="S01-0001", reason="randomized in plain error",
                                     protocol_version="1")
    assert refused.value.title == "Already invalidated"


async def test_the_trail_verifies_and_an_edit_is_found() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    await allocate(store, "S01-0001")
    result = await audit.verify_audit(FakeRandomizationUnitOfWork(store))
    assert result.valid and result.entries == 2 and result.first_bad_entry is None

    store.tables["audit_entries"][1].details["arm"] = "tampered"
    result = await audit.verify_audit(FakeRandomizationUnitOfWork(store))
    assert not result.valid and result.first_bad_entry == 1


async def test_the_audit_page_reads_the_head() -> None:
    store = FakeStore()
    page = await audit.list_audit(FakeRandomizationUnitOfWork(store))
    assert page.total == 0 and page.head_hash == GENESIS_HASH and page.entries == []
