"""Simultaneous requests: one allocation per subject, and a stratum's list consumed in order with
no gap and no double use (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from randomization_support import MONITOR, audit_entries
from sqlmodel import col, select

from rescue_randomization.adapters.tables import Allocation, Trial
from rescue_randomization.domain.blocks import block_list
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
