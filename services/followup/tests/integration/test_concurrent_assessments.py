"""Simultaneous first records for one subject: never a 5xx (both engines).

Writers of one subject are serialized on her row (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on
SQLite), so the checks (one record per date, one death) and the PFS state she carries (what was
announced) are read after the previous writer committed: one wins, the others get a 409 naming
the record they conflict with, or are recorded after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
RANDOMIZED = dt.date.today() - dt.timedelta(days=400)
SITE_USER = auth("S01", "site_user")


def recist(offset: int, total: float, new: bool = False) -> dict[str, Any]:
    return {"type": "recist", "date": (RANDOMIZED + dt.timedelta(days=offset)).isoformat(),
            "target_lesion_sum_mm": total, "new_lesions": new, "non_target_progression": False}


async def post_all(service: RunningService, bodies: list[dict[str, Any]],
                   keys: list[str | None] | None = None) -> list[Any]:
    keys = keys or [None] * len(bodies)
    return list(await asyncio.gather(*(
        service.client.post("/v1/subjects/S01-0001/assessments", json=body,
                            headers=SITE_USER | ({"Idempotency-Key": key} if key else {}))
        for body, key in zip(bodies, keys, strict=True))))


async def stored(service: RunningService) -> list[dict[str, Any]]:
    response = await service.client.get("/v1/subjects/S01-0001/assessments", headers=SITE_USER)
    return response.json()  # type: ignore[no-any-return]


async def test_twenty_identical_first_assessments_one_is_recorded_the_others_409(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    responses = await post_all(followup, [recist(0, 40.0)] * 20)

    assert sorted(r.status_code for r in responses) == [201] + [409] * 19, [
        r.text for r in responses if r.status_code not in (201, 409)]
    winner = next(r.json()["assessment_id"] for r in responses if r.status_code == 201)
    assert all(r.json()["record_id"] == winner for r in responses if r.status_code == 409)
    assert [r["assessment_id"] for r in await stored(followup)] == [winner]


async def test_twenty_simultaneous_retries_under_one_idempotency_key_record_once(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    responses = await post_all(followup, [recist(0, 40.0)] * 20, ["baseline-1"] * 20)

    assert {r.status_code for r in responses} <= {201, 409}
    assert len(await stored(followup)) == 1


async def test_twenty_different_first_assessments_are_all_recorded_and_pfs_announced_right(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    emitted: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    bodies = [recist(0, 40.0)] + [recist(20 * i, 40.0, new=i >= 10) for i in range(1, 20)]
    bodies += [{"type": "death", "date": (RANDOMIZED + dt.timedelta(days=390 + i)).isoformat(),
                "cause": "progressive disease"} for i in range(3)]

    responses = await post_all(followup, bodies)

    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), [r.text for r in responses if r.status_code >= 500]
    assert statuses[:20] == [201] * 20  # one per date: none conflicts
    deaths = statuses[20:]
    assert sorted(deaths) == [201, 409, 409]  # one death; the others name it
    records = await stored(followup)
    assert len(records) == 21
    pfs = (await followup.client.get("/v1/subjects/S01-0001/pfs", headers=SITE_USER)).json()
    assert pfs["event"] is True and pfs["end_date"] == (
        RANDOMIZED + dt.timedelta(days=200)).isoformat()
    # Whatever order the writers ran in, the last announcement is the derived event.
    announced = [p for t, p in await emitted() if t == "followup.progression_recorded"]
    assert announced and announced[-1]["event_date"] == pfs["end_date"]
