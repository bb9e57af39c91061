"""Trial set-up and concealment: the seed never leaves the service before lock; schemes are
configuration; the statistician's report reproduces every allocation from the seed (both
engines)."""

from __future__ import annotations

import hashlib
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
from rescue_shared.testing import RunningService

pytestmark = pytest.mark.integration
Eligible = Callable[..., Awaitable[str]]
Randomize = Callable[..., Awaitable[Any]]


async def stored_trial(service: RunningService) -> Trial:
    async with service.app.state.database.session() as session:
        trial = await session.get(Trial, 1)
    assert trial is not None
    return trial


async def configure(service: RunningService, scheme: dict[str, Any],
                    headers: dict[str, str] = ADMIN) -> Any:
    return await service.client.put("/v1/trial/configuration", json={"scheme": scheme},
                                    headers=headers)


async def allocate_all(eligible: Eligible, randomize: Randomize, subjects: list[str],
                       **facts: Any) -> list[dict[str, Any]]:
    bodies = []
    for subject in subjects:
        await eligible(subject, site=subject[:3], **facts)
        response = await randomize(subject, site=subject[:3])
        assert response.status_code == 201, response.text
        bodies.append(response.json())
    return bodies


async def test_the_trial_is_set_up_once_with_a_secret_seed_no_api_reveals(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    view = (await randomization.client.get("/v1/trial", headers=STATISTICIAN)).json()
    trial = await stored_trial(randomization)
    assert len(bytes.fromhex(trial.seed_hex)) >= 32
    assert view["seed_sha256"] == hashlib.sha256(bytes.fromhex(trial.seed_hex)).hexdigest()
    assert view["scheme"] == "permuted_blocks" and view["protocol_version"] == "1"
    assert view["locked"] is False and view["allocations"] == 0

    await allocate_all(eligible, randomize, ["S01-0001", "S01-0002"])
    await randomize("S01-0001")
    again = (await randomization.client.get("/v1/trial", headers=MONITOR)).json()
    assert again["seed_sha256"] == view["seed_sha256"] and again["allocations"] == 2
    texts = [(await randomization.client.get(path, headers=headers)).text for path, headers in (
        ("/v1/trial", ADMIN), ("/v1/randomizations", MONITOR), ("/v1/balance", STATISTICIAN),
        ("/v1/audit?limit=1000", MONITOR), ("/v1/audit/verify", ADMIN),
        ("/v1/randomizations/S01-0001", SITE_USER), ("/v1/candidates/S01-0002", SITE_USER),
        ("/v1/trial/seed-report", ADMIN), ("/openapi.json", SITE_USER))]
    assert not any(trial.seed_hex in t for t in texts)
    assert [e["type"] for e in await audit_entries(randomization)].count("trial_set_up") == 1


async def test_the_seed_report_opens_only_after_lock_and_reproduces_every_allocation(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    subjects = [f"S01-{i:04d}" for i in range(8)] + [f"S02-{i:04d}" for i in range(5)]
    bodies = await allocate_all(eligible, randomize, subjects)
    await randomization.client.post("/v1/randomizations/S01-0003/invalidation",
                                    headers=INVESTIGATOR,
                                    json={"reason": "allocated before consent was signed"})
    assert_problem(await randomization.client.get("/v1/trial/seed-report", headers=ADMIN), 409)
    assert_problem(await randomization.client.get("/v1/trial/seed-report",
                                                  headers=STATISTICIAN), 403)
    assert_problem(await randomization.client.post("/v1/trial/lock", headers=MONITOR), 403)

    locked = await randomization.client.post("/v1/trial/lock", headers=ADMIN)
    assert locked.status_code == 200 and locked.json()["locked"] is True
    report = (await randomization.client.get("/v1/trial/seed-report", headers=ADMIN)).json()

    seed = bytes.fromhex(report["seed_hex"])
    assert hashlib.sha256(seed).hexdigest() == report["seed_sha256"]
    assert report["reproduced"] is True and report["mismatches"] == []
    assert [r["arm"] for r in report["replay"]] == [b["arm"] for b in bodies]
    assert [r["invalidated"] for r in report["replay"]].count(True) == 1
    lists = {s["stratum_key"]: s["generated"] for s in report["strata"]}
    assert lists == {
        "site=S01|pfi=>12|maintenance=none": [b["arm"] for b in bodies[:8]],
        "site=S02|pfi=>12|maintenance=none": [b["arm"] for b in bodies[8:]],
    }
    assert lists["site=S01|pfi=>12|maintenance=none"] == block_list(
        seed, "site=S01|pfi=>12|maintenance=none", 8)
    types = [e["type"] for e in await audit_entries(randomization)]
    assert types[-4:] == ["invalidation", "refusal", "trial_lock", "export"]


async def test_after_lock_nothing_changes(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await allocate_all(eligible, randomize, ["S01-0001"])
    await eligible("S01-0002")
    await randomization.client.post("/v1/trial/lock", headers=ADMIN)

    assert "locked" in assert_problem(await randomize("S01-0002"), 409)["detail"]
    assert_problem(await randomization.client.post(
        "/v1/randomizations/S01-0001/invalidation", headers=INVESTIGATOR,
        json={"reason": "allocated before consent was signed"}), 409)
    assert_problem(await configure(randomization, {"scheme": "big_stick"}), 409)
    assert_problem(await randomization.client.post("/v1/trial/lock", headers=ADMIN), 409)
    refusals = [e["details"]["action"] for e in await audit_entries(randomization)
                if e["type"] == "refusal"]
    assert refusals == ["allocation", "invalidation", "configuration_change", "trial_lock"]
    async with randomization.app.state.database.session() as session:
        assert len((await session.exec(select(Allocation))).all()) == 1


async def test_the_scheme_changes_only_before_the_first_allocation(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    assert_problem(await configure(randomization, {"scheme": "big_stick"}, STATISTICIAN), 403)
    unknown_factor = await configure(randomization, {"scheme": "minimization",
                                                     "factors": ["site", "age"]})
    assert "minimization factors not in strata" in str(assert_problem(unknown_factor, 422))
    changed = await configure(randomization, {"scheme": "big_stick", "max_imbalance": 2})
    assert changed.status_code == 200, changed.text
    assert changed.json()["scheme"] == "big_stick"
    change = next(e for e in await audit_entries(randomization)
                  if e["type"] == "configuration_change")
    assert change["details"]["before"]["randomization"]["scheme"]["scheme"] == "permuted_blocks"
    assert change["details"]["after"]["randomization"]["scheme"] == {
        "scheme": "big_stick", "max_imbalance": 2}

    await allocate_all(eligible, randomize, ["S01-0001"])
    problem = assert_problem(await configure(randomization, {"scheme": "permuted_blocks"}), 409)
    assert "1 allocation" in problem["detail"]


async def test_big_stick_never_exceeds_the_tolerated_imbalance(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await configure(randomization, {"scheme": "big_stick", "max_imbalance": 1})
    bodies = await allocate_all(eligible, randomize, [f"S01-{i:04d}" for i in range(16)])
    imbalance = 0
    for body in bodies:
        imbalance += 1 if body["arm"] == "SCS_CHEMO" else -1
        assert abs(imbalance) <= 1
        assert body["scheme"] == "big_stick"
    allocations = [e["details"] for e in await audit_entries(randomization)
                   if e["type"] == "allocation"]
    # with a cap of 1, every second allocation of the stratum is forced, the others are coins
    assert [d["forced"] for d in allocations] == [False, True] * 8
    assert all((d["draw"] is None) == d["forced"] for d in allocations)
    await randomization.client.post("/v1/trial/lock", headers=ADMIN)
    report = (await randomization.client.get("/v1/trial/seed-report", headers=ADMIN)).json()
    assert report["reproduced"] is True and len(report["replay"]) == 16


async def test_deterministic_minimization_on_site_keeps_every_site_balanced(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await configure(randomization, {"scheme": "minimization", "factors": ["site"],
                                    "p_preferred": 1.0})
    subjects = [f"S0{1 + i % 2}-{i:04d}" for i in range(12)]
    bodies = []
    for i, subject in enumerate(subjects):
        await eligible(subject, site=subject[:3], platinum_free_interval_months=8 + 6 * (i % 3))
        bodies.append((await randomize(subject, site=subject[:3])).json())
    for site in ("S01", "S02"):
        arms = [b["arm"] for b in bodies if b["stratum"]["site"] == site]
        assert len(arms) == 6 and arms.count("SCS_CHEMO") == arms.count("CHEMO") == 3
    details = [e["details"] for e in await audit_entries(randomization)
               if e["type"] == "allocation"]
    assert all(0 <= d["draw"] < 1 for d in details)
    for body, d in zip(bodies, details, strict=True):
        if d["preferred_arm"] is not None:
            assert body["arm"] == d["preferred_arm"] and d["probability_of_allocated_arm"] == 1.0


async def test_minimization_with_a_biased_coin_is_reproducible_from_the_seed(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await configure(randomization, {"scheme": "minimization"})
    view = (await randomization.client.get("/v1/trial", headers=ADMIN)).json()
    assert view["configuration"]["scheme"]["p_preferred"] == 0.85
    bodies = await allocate_all(eligible, randomize, [f"S01-{i:04d}" for i in range(10)])
    details = [e["details"] for e in await audit_entries(randomization)
               if e["type"] == "allocation"]
    for body, d in zip(bodies, details, strict=True):
        if d["preferred_arm"] is None:
            assert d["probability_of_allocated_arm"] == 0.5
        else:
            follows = d["draw"] < 0.85
            assert (body["arm"] == d["preferred_arm"]) == follows
    await randomization.client.post("/v1/trial/lock", headers=ADMIN)
    report = (await randomization.client.get("/v1/trial/seed-report", headers=ADMIN)).json()
    assert report["reproduced"] is True
    assert [r["replayed_arm"] for r in report["replay"]] == [b["arm"] for b in bodies]
    async with randomization.app.state.database.session() as session:
        slots = (await session.exec(select(Allocation.slot_index)
                                    .order_by(col(Allocation.sequence)))).all()
    assert list(slots) == list(range(10))
