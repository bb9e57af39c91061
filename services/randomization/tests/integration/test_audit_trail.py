"""The audit trail: every allocation, refusal, configuration change and export, hash-chained;
an edit made directly in the database is found at the entry edited (both engines)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from randomization_support import (
    ADMIN,
    INVESTIGATOR,
    MONITOR,
    SITE_USER,
    STATISTICIAN,
    assert_problem,
)
from sqlalchemy import text

from rescue_randomization.domain.audit_chain import GENESIS_HASH, chain_hash
from rescue_shared.testing import RunningService

pytestmark = pytest.mark.integration
Eligible = Callable[..., Awaitable[str]]
Randomize = Callable[..., Awaitable[Any]]


async def history(service: RunningService, eligible: Eligible, randomize: Randomize) -> None:
    """set-up, allocation, refusal, allocation, export, invalidation, refusal (7 entries)."""
    await eligible("S01-0001")
    await eligible("S01-0002")
    await randomize("S01-0001")
    await randomize("S01-0001")
    await randomize("S01-0002")
    await service.client.get("/v1/randomizations", headers=STATISTICIAN)
    await service.client.post("/v1/randomizations/S01-0002/invalidation", headers=INVESTIGATOR,
                              json={"reason": "allocated to the wrong subject id"})
    await randomize("S01-0404")


async def verify(service: RunningService) -> dict[str, Any]:
    response = await service.client.get("/v1/audit/verify", headers=MONITOR)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def edit(service: RunningService, sql: str) -> None:
    """A change made directly in the database, bypassing the service."""
    async with service.app.state.database.engine.begin() as conn:
        await conn.execute(text(sql))


async def test_every_action_is_chained_and_readable_by_monitors(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await history(randomization, eligible, randomize)

    page = (await randomization.client.get("/v1/audit", headers=MONITOR)).json()

    entries = page["entries"]
    assert [e["type"] for e in entries] == [
        "trial_set_up", "allocation", "refusal", "allocation", "export", "invalidation",
        "refusal"]
    assert [e["sequence"] for e in entries] == list(range(7)) and page["total"] == 7
    assert entries[0]["details"]["randomization"]["scheme"]["block_sizes"] == [2, 4, 6]
    allocation = entries[1]
    assert allocation["subject_id"] == "S01-0001" and allocation["site_id"] == "S01"
    assert allocation["actor_roles"] == ["site_user"]
    assert allocation["details"]["randomization_number"] == "R-00001"
    assert allocation["details"]["arm"] in {"SCS_CHEMO", "CHEMO"}
    assert entries[2]["details"]["title"] == "Already randomized"
    assert entries[6]["details"]["unmet_conditions"][0]["condition"] == "screened"
    previous = GENESIS_HASH
    for entry in entries:
        content = {k: entry[k] for k in ("sequence", "type", "actor", "actor_roles", "site_id",
                                         "subject_id", "details")}
        content["recorded_at"] = datetime.fromisoformat(entry["recorded_at"])
        assert chain_hash(previous, content) == entry["hash"]
        previous = entry["hash"]
    assert page["head_hash"] == previous
    assert await verify(randomization) == {"valid": True, "entries": 7, "first_bad_entry": None}

    after = (await randomization.client.get("/v1/audit?after=4&limit=1", headers=ADMIN)).json()
    assert [e["sequence"] for e in after["entries"]] == [5]
    mine = (await randomization.client.get("/v1/audit?subject_id=S01-0001",
                                           headers=MONITOR)).json()
    assert [e["type"] for e in mine["entries"]] == ["allocation", "refusal"]
    for forbidden in (SITE_USER, INVESTIGATOR, STATISTICIAN):
        assert_problem(await randomization.client.get("/v1/audit", headers=forbidden), 403)
        assert_problem(await randomization.client.get("/v1/audit/verify", headers=forbidden),
                       403)


@pytest.mark.parametrize("sql", [
    "UPDATE randomization_audit_entry SET actor = 'someone-else' WHERE sequence = 3",
    "UPDATE randomization_audit_entry SET subject_id = 'S01-0009' WHERE sequence = 3",
    "UPDATE randomization_audit_entry SET recorded_at = recorded_at - INTERVAL '1 day' "
    "WHERE sequence = 3",
    "UPDATE randomization_audit_entry SET details = "
    "CAST(REPLACE(CAST(details AS TEXT), 'CHEMO\"', 'XCHEMO\"') AS JSON) WHERE sequence = 3",
    "DELETE FROM randomization_audit_entry WHERE sequence = 3",
])
async def test_an_edit_in_the_database_is_found_at_that_entry(
    randomization: RunningService, eligible: Eligible, randomize: Randomize, sql: str,
) -> None:
    await history(randomization, eligible, randomize)
    assert (await verify(randomization))["valid"] is True
    if "INTERVAL" in sql and "sqlite" in randomization.settings.database_url:
        sql = ("UPDATE randomization_audit_entry SET recorded_at = "
               "'2020-01-01 00:00:00.000000' WHERE sequence = 3")
    await edit(randomization, sql)

    result = await verify(randomization)

    entries = 6 if sql.startswith("DELETE") else 7
    assert result == {"valid": False, "entries": entries, "first_bad_entry": 3}


async def test_a_truncated_tail_is_found_against_the_head(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await history(randomization, eligible, randomize)
    await edit(randomization, "DELETE FROM randomization_audit_entry WHERE sequence = 6")
    assert await verify(randomization) == {"valid": False, "entries": 6, "first_bad_entry": 6}
