"""Randomization's automatic data query: a re-screening whose platinum-free interval falls in
another band than the one the subject was randomized in opens a query; a screening back in the
band closes it (both engines)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from randomization_support import MONITOR, SITE_USER, screened

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration


async def queries(service: RunningService, headers: dict[str, str] = MONITOR,
                  **params: Any) -> list[dict[str, Any]]:
    response = await service.client.get("/v1/queries", params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_a_screening_outside_the_randomized_pfi_band_opens_a_query_until_it_agrees(
    randomization: RunningService, eligible: Callable[..., Awaitable[str]],
    randomize: Callable[..., Awaitable[Any]], deliver: Callable[..., Awaitable[None]],
) -> None:
    await eligible("S01-0001")  # PFI 20 months: randomized in pfi=>12
    await eligible("S01-0002")
    assert (await randomize("S01-0001")).json()["stratum"]["pfi"] == ">12"
    await deliver(screened("S01-0002", "S01", platinum_free_interval_months=9))  # not randomized
    assert await queries(randomization) == []

    await deliver(screened("S01-0001", "S01", platinum_free_interval_months=9))
    (query,) = await queries(randomization)
    assert (query["subject_id"], query["check"], query["field"], query["state"]) == (
        "S01-0001", "pfi_band_vs_screening", "pfi", "open")
    assert "'6-12'" in query["message"] and "'>12'" in query["message"]
    assert [q["id"] for q in await queries(randomization, SITE_USER)] == [query["id"]]
    assert await queries(randomization, auth("S02", "site_user")) == []
    sweep = await randomization.client.post("/v1/queries/checks", headers=MONITOR)
    assert sweep.json() == {"changed": 0}

    await deliver(screened("S01-0001", "S01", platinum_free_interval_months=20))
    (closed,) = await queries(randomization, state="closed")
    assert closed["id"] == query["id"] and closed["steps"][-1]["actor"] == (
        "system:automatic-check")
