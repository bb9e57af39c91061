"""Eligibility's audit trail through its API on both engines: every change it makes (screenings,
re-screenings, refused ids, predictions applied by the consumer, screening-log exports) is one
entry with before and after; a failed request leaves none; tampering and truncation are found."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from audit_checks import (
    as_user,
    assert_linked,
    assert_only_monitors_and_admins_read,
    assert_tampering_and_truncation_are_found,
    audit,
    entries,
    verify,
)
from harness import ELIGIBLE_FACTS

from rescue_eligibility.adapters.unit_of_work import SqlEligibilityUnitOfWork
from rescue_eligibility.app import DEFINITION
from rescue_eligibility.entrypoints.events import HANDLERS
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.audit.chain import Actor, AuditDraft
from rescue_shared.audit.trail import verify_trail
from rescue_shared.contracts import new_event
from rescue_shared.contracts.events import PredictionCompleted
from rescue_shared.testing import RunningService, run_service, settings_for

pytestmark = pytest.mark.integration
SITE_USER = as_user("nurse-7", "S01", "site_user")


async def screen(service: RunningService, subject_id: str, headers: dict[str, str] = SITE_USER,
                 **facts: Any) -> Any:
    return await service.client.post("/v1/screenings", headers=headers, json={
        "subject_id": subject_id, "screening_date": "2026-03-02",
        "facts": {**ELIGIBLE_FACTS, **facts}})


async def predict(service: RunningService, subject_id: str, classification: str) -> str:
    """Apply `prediction.completed` as the consumer does (after its inbox check)."""
    event = new_event(PredictionCompleted(
        prediction_id=uuid.uuid4(), version=1, classification=classification,  # type: ignore[arg-type]
        kelim=0.05, kelim_standardized=1.3, kelim_source="local_estimate",
        model_version="test", protocol_version="prediction-v1"),
        producer="prediction", trial_id="NCT07295132", site_id="S01", subject_id=subject_id,
        correlation_id="corr-prediction-1")
    async with SqlEligibilityUnitOfWork(service.app.state.database, service.settings) as uow:
        await HANDLERS[PredictionCompleted](uow, event)
        await uow.commit()
    return str(event.event_id)


async def test_every_change_is_an_entry_with_before_and_after(
    eligibility: RunningService,
) -> None:
    first = (await screen(eligibility, "S01-0001", ecog=1)).json()
    second = (await screen(eligibility, "S01-0001", ecog=0)).json()
    event_id = await predict(eligibility, "S01-0001", "highly_likely_complete_resection")
    refused = await screen(eligibility, "S01-0001", as_user("nurse-9", "S02", "site_user"))
    assert refused.status_code == 422
    assert (await eligibility.client.get("/v1/screening-log", headers=SITE_USER)).is_success
    csv = await eligibility.client.get("/v1/screening-log",
                                       headers={**SITE_USER, "Accept": "text/csv"})
    assert csv.status_code == 200

    trail = await entries(eligibility)
    assert [e["action"] for e in trail] == [
        "screening.recorded", "screening.rescreened", "prediction.applied",
        "screening.decided", "subject_id.refused", "export.downloaded"]
    assert [e["sequence"] for e in trail] == list(range(6))
    recorded, rescreened, applied, decided, refusal, export = trail
    assert recorded["actor"] == "nurse-7" and recorded["actor_roles"] == ["site_user"]
    assert recorded["site_id"] == "S01" and recorded["subject_id"] == "S01-0001"
    assert recorded["before"] is None
    assert recorded["after"]["screening_id"] == first["screening_id"]
    assert recorded["after"]["facts"]["ecog"] == 1
    assert rescreened["before"] == recorded["after"]
    assert rescreened["after"]["screening_id"] == second["screening_id"]
    assert rescreened["after"]["facts"]["ecog"] == 0
    assert applied["actor"] == "system:consumer" and applied["event_id"] == event_id
    assert applied["before"] is None
    assert applied["after"]["classification"] == "highly_likely_complete_resection"
    assert decided["before"]["final_decision"] == "pending"
    assert decided["after"]["final_decision"] == "eligible"
    assert decided["after"]["screening_id"] == second["screening_id"]
    assert refusal["actor"] == "nurse-9" and refusal["site_id"] == "S02"
    assert refusal["after"] == {"action": "screening", "cause": "another_site"}
    assert export["after"] == {"export": "screening-log.csv", "rows": 2,
                               "scope_site_id": "S01"}
    assert recorded["prev_hash"] == "0" * 64
    assert_linked(trail)
    assert (await verify(eligibility))["valid"] is True


async def test_a_failed_request_leaves_no_entry(eligibility: RunningService) -> None:
    assert (await screen(eligibility, "S01-0001")).status_code == 201
    bad = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": "S01-0002", "screening_date": "2026-03-02",
        "facts": {**ELIGIBLE_FACTS, "ecog": "seven"}})
    assert bad.status_code == 422
    page = await audit(eligibility)
    assert page["total"] == 1 and [e["subject_id"] for e in page["entries"]] == ["S01-0001"]


async def test_pages_and_the_subject_filter(eligibility: RunningService) -> None:
    for n in range(1, 6):
        assert (await screen(eligibility, f"S01-000{n}")).status_code == 201
    first = await audit(eligibility, limit=2)
    assert [e["sequence"] for e in first["entries"]] == [0, 1] and first["total"] == 5
    second = await audit(eligibility, limit=2, after=first["next_after"])
    assert [e["sequence"] for e in second["entries"]] == [2, 3]
    last = await audit(eligibility, limit=2, after=second["next_after"])
    assert [e["sequence"] for e in last["entries"]] == [4] and last["next_after"] == 4
    only = await audit(eligibility, subject_id="S01-0003")
    assert [e["subject_id"] for e in only["entries"]] == ["S01-0003"]
    exports = await audit(eligibility, action="export.downloaded")
    assert exports["entries"] == [] and exports["total"] == 5


async def test_only_monitors_and_admins_read_the_trail(eligibility: RunningService) -> None:
    assert (await screen(eligibility, "S01-0001")).status_code == 201
    await assert_only_monitors_and_admins_read(eligibility, "S01")


async def test_tampering_and_truncation_are_found(eligibility: RunningService) -> None:
    for n in range(1, 6):
        assert (await screen(eligibility, f"S01-000{n}")).status_code == 201
    await assert_tampering_and_truncation_are_found(eligibility)


async def test_two_replicas_writing_at_once_keep_one_valid_chain(database_url: str) -> None:
    """Replicas share the database: appends queue on the head, the chain never forks, and a
    verification meanwhile sees one consistent moment of it."""
    settings = settings_for(EligibilitySettings, database_url=database_url,
                            messaging_enabled=False)
    async with run_service(DEFINITION, settings) as one, run_service(DEFINITION, settings) as two:
        writes = [screen(one if n % 2 else two, f"S01-{n:04d}") for n in range(24)]
        checks = [verify(two if n % 2 else one) for n in range(6)]  # while they write
        responses = await asyncio.gather(*writes, *checks)
        assert all(r.status_code == 201 for r in responses[:24])
        assert all(c["valid"] is True for c in responses[24:]), responses[24:]
        result = await verify(one)
        assert result["valid"] is True and result["entries"] == 24
        trail = await entries(two)
        assert sorted(e["subject_id"] for e in trail) == sorted(f"S01-{n:04d}" for n in range(24))


async def test_a_verification_reads_one_moment_of_the_chain(eligibility: RunningService) -> None:
    """An append committed while a verification reads is not half-seen (on PostgreSQL it does
    not wait for the verification either; SQLite serializes the two)."""
    for n in range(1, 4):
        assert (await screen(eligibility, f"S01-000{n}")).status_code == 201
    database, settings = eligibility.app.state.database, eligibility.settings

    async def append_one() -> None:
        async with SqlEligibilityUnitOfWork(database, settings) as writer:
            writer.audit.record(AuditDraft(action="test.appended", actor=Actor("tester"),
                                           site_id="S01", subject_id="S01-0009"))
            await writer.commit()

    async with SqlEligibilityUnitOfWork(database, settings) as reader:
        head = await reader.audit.head_for_verification()
        appending = asyncio.create_task(append_one())
        await asyncio.wait({appending}, timeout=2.0)
        seen = await reader.audit.entries(limit=1000)
        assert head.entries == 3 and len(seen) == 3
        assert (await verify_trail(reader.audit)).valid
    await appending
    assert (await verify(eligibility))["entries"] == 4
