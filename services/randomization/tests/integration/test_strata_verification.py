"""Strata as randomized and as verified: a stratification error is recorded beside the
allocation, which never changes, nor do its slot and what the schemes count (both engines)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from randomization_support import (
    INVESTIGATOR,
    MONITOR,
    SITE_USER,
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
REASON = "source letter shows platinum-free interval of eight months"
DATA_MANAGER = auth(None, "data_manager")


async def verify(service: RunningService, subject_id: str, factor: str = "pfi",
                 level: str = "6-12", reason: str = REASON,
                 headers: dict[str, str] = INVESTIGATOR) -> Any:
    return await service.client.post(
        f"/v1/randomizations/{subject_id}/strata-verification", headers=headers,
        json={"factor": factor, "verified_level": level, "reason": reason})


async def test_a_verified_stratum_is_kept_beside_the_allocation_which_never_changes(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    for subject in ("S01-0001", "S01-0002", "S01-0003"):
        await eligible(subject)  # PFI 20 months: stratum pfi=>12
    first = (await randomize("S01-0001")).json()

    response = await verify(randomization, "S01-0001")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stratum_as_randomized"] == first["stratum"]
    assert body["stratum_as_verified"] == first["stratum"] | {"pfi": "6-12"}
    (check,) = body["verifications"]
    assert (check["factor"], check["randomized_level"], check["verified_level"]) == (
        "pfi", ">12", "6-12")
    assert check["reason"] == REASON and check["verified_by"] and check["verified_at"]
    assert (await randomization.client.get("/v1/randomizations/S01-0001",
                                           headers=SITE_USER)).json() == first
    read = await randomization.client.get("/v1/randomizations/S01-0001/strata-verification",
                                          headers=MONITOR)
    assert read.json() == body

    # Slots stay used in the stratum as randomized: the next subjects follow its block list.
    second = (await randomize("S01-0002")).json()
    third = (await randomize("S01-0003")).json()
    async with randomization.app.state.database.session() as session:
        trial = await session.get(Trial, 1)
        rows = (await session.exec(select(Allocation).order_by(col(Allocation.sequence)))).all()
        events = (await session.exec(select(OutboxMessage)
                                     .order_by(col(OutboxMessage.id)))).all()
    assert trial is not None
    key = "site=S01|pfi=>12|maintenance=none"
    assert [first["arm"], second["arm"], third["arm"]] == block_list(
        bytes.fromhex(trial.seed_hex), key, 3)
    assert [(r.stratum_key, r.slot_index) for r in rows] == [(key, 0), (key, 1), (key, 2)]
    # The balance (what the schemes count) is by the strata as randomized.
    balance = (await randomization.client.get("/v1/balance", headers=MONITOR)).json()
    assert [s["stratum"]["pfi"] for s in balance["strata"]] == [">12"]

    (event,) = [json.loads(e.value) for e in events
                if e.event_type == "randomization.strata_verified"]
    assert event["subject_id"] == "S01-0001"
    assert event["payload"]["verified_stratum"] == body["stratum_as_verified"]
    assert event["payload"]["randomization_number"] == first["randomization_number"]
    (entry,) = [e for e in await audit_entries(randomization)
                if e["type"] == "strata_verification"]
    assert entry["subject_id"] == "S01-0001"
    assert entry["details"]["before"] is None and entry["details"]["after"] == "6-12"
    assert entry["details"]["randomized_level"] == ">12"


async def test_a_second_verification_replaces_the_first_and_the_trail_keeps_both(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0001")
    await randomize("S01-0001", maintenance="none")
    assert (await verify(randomization, "S01-0001")).status_code == 200
    again = await verify(randomization, "S01-0001", level=">12", headers=DATA_MANAGER,
                         reason="second source review confirms the original band")
    body = again.json()
    assert body["stratum_as_verified"]["pfi"] == ">12"
    second = await verify(randomization, "S01-0001", factor="maintenance",
                          level="parp_inhibitor", headers=DATA_MANAGER,
                          reason="pharmacy record shows olaparib was planned")
    assert second.json()["stratum_as_verified"] == {"site": "S01", "pfi": ">12",
                                                    "maintenance": "parp_inhibitor"}
    trail = [e["details"] for e in await audit_entries(randomization)
             if e["type"] == "strata_verification"]
    assert [(d["factor"], d["before"], d["after"]) for d in trail] == [
        ("pfi", None, "6-12"), ("pfi", "6-12", ">12"), ("maintenance", None, "parp_inhibitor")]


async def test_bad_verifications_name_their_field_and_change_nothing(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0001")
    await eligible("S02-0001", site="S02")
    await randomize("S01-0001")
    await randomize("S02-0001", site="S02")

    problem = assert_problem(await verify(randomization, "S01-0001", factor="age"), 422)
    assert problem["errors"][0]["field"] == "factor"
    problem = assert_problem(await verify(randomization, "S01-0001", level="<6"), 422)
    assert problem["errors"][0]["field"] == "verified_level" and "6-12" in problem["detail"] + \
        problem["errors"][0]["message"]
    problem = assert_problem(await verify(randomization, "S01-0001", reason="x.y.z"), 422)
    assert problem["errors"][0]["field"] == "reason"
    assert_problem(await verify(randomization, "S01-0001", headers=SITE_USER), 403)
    assert_problem(await verify(randomization, "S01-0001", headers=MONITOR), 403)
    assert_problem(await verify(randomization, "S02-0001"), 404)  # another site's subject
    assert_problem(await verify(randomization, "S01-0404"), 404)
    read = await randomization.client.get("/v1/randomizations/S01-0001/strata-verification",
                                          headers=INVESTIGATOR)
    assert read.json()["verifications"] == []
    assert not [e for e in await audit_entries(randomization)
                if e["type"] == "strata_verification"]


async def test_minimization_keeps_counting_the_strata_as_randomized(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    """The first subject, randomized in pfi=6-12, is verified as >12; the next 6-12 subject is
    still balanced against her: deterministic minimization on pfi gives the other arm."""
    configured = await randomization.client.put(
        "/v1/trial/configuration", headers=auth(None, "admin"),
        json={"scheme": {"scheme": "minimization", "factors": ["pfi"], "p_preferred": 1.0}})
    assert configured.status_code == 200, configured.text
    await eligible("S01-0001", platinum_free_interval_months=8)
    first = (await randomize("S01-0001")).json()
    assert first["stratum"]["pfi"] == "6-12"
    verified = await verify(randomization, "S01-0001", level=">12",
                            reason="source letter shows a platinum-free interval of fourteen "
                                   "months")
    assert verified.status_code == 200, verified.text

    await eligible("S01-0002", platinum_free_interval_months=9)
    second = (await randomize("S01-0002")).json()
    (_, decided) = [e["details"] for e in await audit_entries(randomization)
                    if e["type"] == "allocation"]
    assert decided["preferred_arm"] is not None  # she was counted: not a tie
    assert second["arm"] == decided["preferred_arm"] != first["arm"]
