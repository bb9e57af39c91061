"""Invalidation marks an allocation, never deletes or reuses it; balance counts by arm and
stratum (both engines)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from randomization_support import (
    ADMIN,
    INVESTIGATOR,
    MONITOR,
    SITE_USER,
    STATISTICIAN,
    assert_problem,
    audit_entries,
)
from sqlmodel import col, select

from rescue_randomization.adapters.tables import Allocation, Trial
from rescue_randomization.domain.blocks import block_list
from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
Eligible = Callable[..., Awaitable[str]]
Randomize = Callable[..., Awaitable[Any]]
REASON = "randomized in error: consent form was unsigned"


async def invalidate(service: RunningService, subject_id: str, reason: str = REASON,
                     headers: dict[str, str] = INVESTIGATOR) -> Any:
    return await service.client.post(f"/v1/randomizations/{subject_id}/invalidation",
                                     json={"reason": reason}, headers=headers)


async def seed_of(service: RunningService) -> bytes:
    """Read straight from the database (no API reveals it before lock)."""
    async with service.app.state.database.session() as session:
        trial = await session.get(Trial, 1)
    assert trial is not None
    return bytes.fromhex(trial.seed_hex)


async def test_an_invalidated_allocation_stays_with_who_when_why_and_keeps_its_slot(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    for subject in ("S01-0001", "S01-0002", "S01-0003"):
        await eligible(subject)
    first = (await randomize("S01-0001")).json()

    response = await invalidate(randomization, "S01-0001")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "invalidated" and body["arm"] == first["arm"]
    assert body["randomization_number"] == first["randomization_number"]
    assert body["invalidation"]["reason"] == REASON
    assert body["invalidation"]["invalidated_by"] and body["invalidation"]["invalidated_at"]
    read = await randomization.client.get("/v1/randomizations/S01-0001", headers=SITE_USER)
    assert read.json() == body

    problem = assert_problem(await randomize("S01-0001"), 409)
    assert problem["randomization"]["status"] == "invalidated"

    second = (await randomize("S01-0002")).json()
    third = (await randomize("S01-0003")).json()
    assert second["stratum"] == first["stratum"] == third["stratum"]
    key = "site=S01|pfi=>12|maintenance=none"
    assert [first["arm"], second["arm"], third["arm"]] == block_list(
        await seed_of(randomization), key, 3)
    async with randomization.app.state.database.session() as session:
        rows = (await session.exec(select(Allocation).order_by(col(Allocation.sequence)))).all()
        events = (await session.exec(select(OutboxMessage)
                                     .order_by(col(OutboxMessage.id)))).all()
    assert [(r.slot_index, r.randomization_number) for r in rows] == [
        (0, "R-00001"), (1, "R-00002"), (2, "R-00003")]
    invalidated = [json.loads(e.value) for e in events
                   if e.event_type == "randomization.invalidated"]
    assert [(e["subject_id"], e["payload"]["randomization_number"], e["payload"]["reason"])
            for e in invalidated] == [("S01-0001", "R-00001", REASON)]
    entry = next(e for e in await audit_entries(randomization) if e["type"] == "invalidation")
    assert entry["details"]["reason"] == REASON and entry["subject_id"] == "S01-0001"


async def test_invalidation_refusals(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0004")
    await randomize("S01-0004")

    short = assert_problem(await invalidate(randomization, "S01-0004", "mistake"), 422)
    assert [e["field"] for e in short["errors"]] == ["reason"]
    assert "reason" in short["detail"]
    for meaningless in ("x.y.z......", "1 2 3", "a b c"):
        refused = assert_problem(await invalidate(randomization, "S01-0004", meaningless), 422)
        assert [(e["field"], e["rule"]) for e in refused["errors"]] == [("reason", "min_words")]
    assert "investigator" in assert_problem(
        await invalidate(randomization, "S01-0004", headers=SITE_USER), 403)["detail"]
    assert_problem(await invalidate(randomization, "S01-0004",
                                    headers=auth("S02", "investigator")), 404)
    assert_problem(await invalidate(randomization, "S01-0404"), 404)
    assert (await invalidate(randomization, "S01-0004", headers=ADMIN)).status_code == 200
    again = assert_problem(await invalidate(randomization, "S01-0004"), 409)
    assert again["randomization"]["invalidation"]["reason"] == REASON

    refusals = [e["details"] for e in await audit_entries(randomization)
                if e["type"] == "refusal"]
    assert [(r["action"], r["status"]) for r in refusals] == [
        *[("invalidation", 422)] * 4, ("invalidation", 404), ("invalidation", 404),
        ("invalidation", 409)]


async def test_a_short_reason_of_real_words_is_enough(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0005")
    await randomize("S01-0005")
    response = await invalidate(randomization, "S01-0005", "entered in error")
    assert response.status_code == 200, response.text
    assert response.json()["invalidation"]["reason"] == "entered in error"


async def test_balance_counts_by_arm_overall_and_per_stratum(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    arms: dict[str, list[str]] = {}
    for i in range(7):
        subject = await eligible(f"S01-{i:04d}", platinum_free_interval_months=8 if i < 4 else 20)
        arm = (await randomize(subject)).json()["arm"]
        arms.setdefault("6-12" if i < 4 else ">12", []).append(arm)
    await invalidate(randomization, "S01-0000")

    balance = (await randomization.client.get("/v1/balance", headers=MONITOR)).json()

    assert balance["scheme"] == "permuted_blocks"
    everyone = [a for group in arms.values() for a in group]
    assert balance["allocated"] == {"SCS_CHEMO": everyone.count("SCS_CHEMO"),
                                    "CHEMO": everyone.count("CHEMO"), "total": 7}
    assert balance["valid"]["total"] == 6 and balance["invalidated"] == 1
    by_band = {s["stratum"]["pfi"]: s for s in balance["strata"]}
    for band, group in arms.items():
        stratum = by_band[band]
        assert stratum["allocated"] == {"SCS_CHEMO": group.count("SCS_CHEMO"),
                                        "CHEMO": group.count("CHEMO"), "total": len(group)}
        assert stratum["imbalance"] == group.count("SCS_CHEMO") - group.count("CHEMO")
        assert abs(stratum["imbalance"]) <= 3  # blocks of at most 6
    assert by_band["6-12"]["valid"]["total"] == 3
    assert "next" not in json.dumps(balance)
    assert (await randomization.client.get("/v1/balance", headers=STATISTICIAN)).json() == (
        balance)
    for forbidden in (SITE_USER, INVESTIGATOR, ADMIN):
        assert_problem(await randomization.client.get("/v1/balance", headers=forbidden), 403)
