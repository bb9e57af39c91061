"""Simultaneous requests: one allocation per subject, and a stratum's list consumed in order with
no gap and no double use (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from randomization_fakes import SITE_USER
from randomization_support import MONITOR, audit_entries
from sqlmodel import col, select

from rescue_randomization.adapters.tables import Allocation, Trial
from rescue_randomization.domain.blocks import block_list
from rescue_randomization.entrypoints.http.allocation_groups import AllocationGroups
from rescue_randomization.service_layer.allocations import AllocationRequest
from rescue_shared.db.platform_tables import IdempotencyRecord, OutboxMessage
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
Eligible = Callable[..., Awaitable[str]]
Randomize = Callable[..., Awaitable[Any]]
STRATUM = "site=S01|pfi=>12|maintenance=none"


async def allocations(service: RunningService) -> list[Allocation]:
    async with service.app.state.database.session() as session:
        return list((await session.exec(select(Allocation)
                                        .order_by(col(Allocation.sequence)))).all())


async def test_fifty_simultaneous_requests_for_one_subject_allocate_once(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0001")
    # 50 different callers (distinct tokens), no idempotency key: the service alone decides
    responses = await asyncio.gather(*(randomize("S01-0001", headers=auth("S01", "site_user"))
                                       for _ in range(50)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49
    created = next(r.json() for r in responses if r.status_code == 201)
    assert all(r.json()["randomization"] == created for r in responses if r.status_code == 409)
    [allocation] = await allocations(randomization)
    assert allocation.randomization_number == created["randomization_number"] == "R-00001"
    types = [e["type"] for e in await audit_entries(randomization)]
    assert types.count("allocation") == 1 and types.count("refusal") == 49
    verify = (await randomization.client.get("/v1/audit/verify", headers=MONITOR)).json()
    assert verify == {"valid": True, "entries": 51, "first_bad_entry": None}


async def test_two_hundred_simultaneous_subjects_of_one_stratum_use_the_list_in_order(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    subjects = [f"S01-{i:04d}" for i in range(200)]
    for subject in subjects:
        await eligible(subject)

    responses = await asyncio.gather(*(randomize(s) for s in subjects))

    assert [r.status_code for r in responses] == [201] * 200, next(
        r.text for r in responses if r.status_code != 201)
    rows = await allocations(randomization)
    assert [r.sequence for r in rows] == list(range(200))
    assert [r.slot_index for r in rows] == list(range(200))  # no gap, no double use
    assert {r.stratum_key for r in rows} == {STRATUM}
    assert len({r.subject_id for r in rows}) == 200
    assert [r.randomization_number for r in rows] == [f"R-{n:05d}" for n in range(1, 201)]
    async with randomization.app.state.database.session() as session:
        trial = await session.get(Trial, 1)
    assert trial is not None and trial.allocations == 200
    assert [r.arm for r in rows] == block_list(bytes.fromhex(trial.seed_hex), STRATUM, 200)
    by_subject = {r.json()["subject_id"]: r.json()["arm"] for r in responses}
    assert all(by_subject[r.subject_id] == r.arm for r in rows)
    balance = (await randomization.client.get("/v1/balance", headers=MONITOR)).json()
    assert abs(balance["strata"][0]["imbalance"]) <= 3
    verify = (await randomization.client.get("/v1/audit/verify", headers=MONITOR)).json()
    assert verify == {"valid": True, "entries": 201, "first_bad_entry": None}


async def test_simultaneous_requests_share_a_commit_yet_each_keeps_its_correlation_and_key(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    """Requests arriving together are committed in groups (one lock, one commit): each one's
    event still carries its own correlation id, each Idempotency-Key records only its own event,
    and a refusal among them is audited without touching the others."""
    subjects = [f"{site}-{i:04d}" for site in ("S01", "S02") for i in range(12)]
    for subject in subjects:
        await eligible(subject, site=subject[:3])
    strangers = [f"S01-9{i:03d}" for i in range(4)]  # never screened: refused
    maintenance = ("none", "parp_inhibitor", "bevacizumab")

    def headers(subject: str) -> dict[str, str]:
        return auth(subject[:3], "site_user") | {"X-Correlation-ID": f"corr-{subject}",
                                                 "Idempotency-Key": f"key-{subject}"}

    everyone = subjects + strangers
    responses = await asyncio.gather(*(
        randomize(s, site=s[:3], maintenance=maintenance[i % 3], headers=headers(s))
        for i, s in enumerate(everyone)))

    status = {s: r.status_code for s, r in zip(everyone, responses, strict=True)}
    assert [status[s] for s in subjects] == [201] * len(subjects)
    assert [status[s] for s in strangers] == [409] * len(strangers)
    rows = await allocations(randomization)
    assert [r.sequence for r in rows] == list(range(len(subjects)))
    for stratum in {r.stratum_key for r in rows}:  # each list used in order, no gap
        assert [r.slot_index for r in rows if r.stratum_key == stratum] == list(
            range(sum(r.stratum_key == stratum for r in rows)))
    async with randomization.app.state.database.session() as session:
        outbox = (await session.exec(select(OutboxMessage))).all()
        claims = {c.key: c for c in (await session.exec(select(IdempotencyRecord))).all()}
    events = {json.loads(m.value)["subject_id"]: json.loads(m.value) for m in outbox}
    assert set(events) == set(subjects)
    assert all(events[s]["correlation_id"] == f"corr-{s}" for s in subjects)
    for subject in everyone:
        recorded = json.loads(claims[f"key-{subject}"].effect_events or "null")
        assert recorded == ([{"event_type": "randomization.assigned",
                              "event_id": events[subject]["event_id"], "subject_id": subject}]
                            if subject in events else [])
    types = [e["type"] for e in await audit_entries(randomization)]
    assert types.count("allocation") == len(subjects)
    assert types.count("refusal") == len(strangers)
    verify = (await randomization.client.get("/v1/audit/verify", headers=MONITOR)).json()
    assert verify["valid"] is True


async def test_a_caller_going_away_does_not_fail_the_others_of_its_group(
    randomization: RunningService, eligible: Eligible,
) -> None:
    subjects = [f"S01-{i:04d}" for i in range(12)]
    for subject in subjects:
        await eligible(subject)
    state = randomization.app.state
    groups = AllocationGroups(lambda: state.unit_of_work_class(state.database, state.settings),
                              protocol_version="1", timezone="Europe/Paris")

    calls = [asyncio.create_task(groups.allocate(AllocationRequest(
        SITE_USER, s, consent_confirmed=True, planned_maintenance="none")))
        for s in subjects]
    await asyncio.sleep(0)  # every request is queued for the one group
    calls[3].cancel()  # that caller hangs up; its allocation is committed with the group
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert isinstance(outcomes[3], asyncio.CancelledError)
    answered = [o for i, o in enumerate(outcomes) if i != 3]
    assert [getattr(o, "subject_id", o) for o in answered] == [
        s for i, s in enumerate(subjects) if i != 3]
    rows = await allocations(randomization)
    assert [r.subject_id for r in rows] == subjects
    verify = (await randomization.client.get("/v1/audit/verify", headers=MONITOR)).json()
    assert verify["valid"] is True
