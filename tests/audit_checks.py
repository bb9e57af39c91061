"""What every service's audit trail must show, checked through its API on its real database.

Importable from every test (pytest puts tests/ on the path): each service's integration tests
make a few changes, then call these checks on their running service.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import text

from rescue_shared.testing import RunningService, auth, token

MONITOR = auth(None, "monitor")
ADMIN = auth(None, "admin")


def as_user(sub: str, site: str | None, *roles: str) -> dict[str, str]:
    """Authorization header of a named caller (the audit trail shows the name)."""
    return {"Authorization": f"Bearer {token(site, *roles, sub=sub)}"}


def assert_linked(trail: list[dict[str, Any]]) -> None:
    """Each entry names its predecessor's hash; sequences run without a gap."""
    assert [e["sequence"] for e in trail] == list(range(trail[0]["sequence"],
                                                        trail[0]["sequence"] + len(trail)))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(trail))


async def audit(service: RunningService, headers: dict[str, str] = MONITOR,
                **params: Any) -> dict[str, Any]:
    """One page of `GET /v1/audit`."""
    response = await service.client.get("/v1/audit", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def entries(service: RunningService, **params: Any) -> list[dict[str, Any]]:
    """Every entry (of a subject / an action when given), in chain order."""
    found: list[dict[str, Any]] = []
    after = -1
    while True:
        page = await audit(service, after=after, limit=1000, **params)
        found += page["entries"]
        if len(page["entries"]) < 1000:
            return found
        after = page["next_after"]


async def verify(service: RunningService) -> dict[str, Any]:
    response = await service.client.get("/v1/audit/verify", headers=MONITOR)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def edit(service: RunningService, sql: str) -> None:
    """A change made directly in the database, bypassing the service (what an intruder does)."""
    async with service.app.state.database.engine.begin() as conn:
        await conn.execute(text(sql))


async def assert_tampering_and_truncation_are_found(service: RunningService) -> None:
    """Valid as written; an edited entry is named; removed tail entries are reported."""
    total = len(await entries(service))
    assert total >= 4, "make at least four changes first"
    assert await verify(service) == {
        "valid": True, "entries": total, "head_entries": total,
        "head_hash": (await audit(service))["head_hash"], "first_bad_entry": None,
        "problem": None}

    async with service.app.state.database.engine.connect() as conn:
        original = (await conn.execute(text(
            "SELECT actor FROM audit_entry WHERE sequence = 1"))).scalar_one()
    await edit(service, "UPDATE audit_entry SET actor = 'someone-else' WHERE sequence = 1")
    tampered = await verify(service)
    assert tampered["valid"] is False and tampered["first_bad_entry"] == 1
    assert tampered["problem"] == "hash_mismatch" and tampered["entries"] == 1
    await edit(service, f"UPDATE audit_entry SET actor = '{original}' WHERE sequence = 1")
    assert (await verify(service))["valid"] is True

    last = total - 1
    await edit(service, f"DELETE FROM audit_entry WHERE sequence = {last}")
    truncated = await verify(service)
    assert truncated == {**truncated, "valid": False, "entries": last, "head_entries": total,
                         "first_bad_entry": last, "problem": "truncated"}

    await edit(service, "DELETE FROM audit_entry WHERE sequence = 1")
    gap = await verify(service)
    assert gap["valid"] is False and gap["first_bad_entry"] == 1
    assert gap["problem"] == "sequence_gap"


async def assert_only_monitors_and_admins_read(service: RunningService, site: str) -> None:
    """Site users (of any site) and statisticians are refused; monitors and admins read."""
    for headers in (auth(site, "site_user"), auth("S99", "site_user"),
                    auth(site, "investigator"), auth(None, "statistician")):
        for path in ("/v1/audit", "/v1/audit/verify"):
            response = await service.client.get(path, headers=headers)
            assert response.status_code == 403, (path, headers, response.text)
    assert (await service.client.get("/v1/audit")).status_code == 401
    for headers in (MONITOR, ADMIN):
        assert (await service.client.get("/v1/audit", headers=headers)).status_code == 200
