"""Strata as verified after randomization: kept beside the strata as randomized, shown in ADSL as
STRATAV, and used by the stratified log-rank and Cox only when asked (`?strata=verified`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rescue_shared.contracts import new_event
from rescue_shared.contracts.events import RandomizationStrataVerified
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
TODAY = dt.date.today()
STATISTICIAN = auth(None, "statistician")


def verified(subject_id: str, stratum: dict[str, str], at: dt.datetime) -> Any:
    return new_event(RandomizationStrataVerified(
        randomization_number=f"R-{subject_id}", factor="pfi", randomized_level="6-12",
        verified_level=stratum["pfi"], verified_stratum=stratum,
        reason="source letter shows a longer interval", verified_by="dm-1", verified_at=at),
        producer="randomization", trial_id="NCT07295132", site_id="S01", subject_id=subject_id,
        correlation_id=str(uuid.uuid4()))


async def trial(register: Callable[..., Awaitable[Any]],
                record: Callable[..., Awaitable[Any]]) -> None:
    """Twelve subjects in two PFI bands; CHEMO progresses earlier in the 6-12 band."""
    for i in range(12):
        subject_id, start = f"S01-{i:04d}", TODAY - dt.timedelta(days=700 - 5 * i)
        arm = "SCS_CHEMO" if i % 2 else "CHEMO"
        await register(subject_id, arm=arm, randomized=start,
                       stratum={"pfi": "6-12" if i < 6 else ">12", "maintenance": "none"})
        for k, day in enumerate((start, start + dt.timedelta(days=60 + 30 * i))):
            body = {"type": "recist", "date": day.isoformat(),
                    "target_lesion_sum_mm": 90.0 if k and i % 3 else 60.0,
                    "new_lesions": False, "non_target_progression": False}
            assert (await record(subject_id, body)).status_code == 201


async def analysis(followup: RunningService, query: str = "") -> dict[str, Any]:
    response = await followup.client.get(f"/v1/analysis/pfs{query}", headers=STATISTICIAN)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_verified_strata_change_only_the_analysis_that_asks_for_them(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], deliver: Callable[[Any], Awaitable[None]],
) -> None:
    await trial(register, record)
    before = await analysis(followup)
    assert before["strata"] == "randomized"  # the protocol's default, stated in the read-out
    now = dt.datetime.now(dt.UTC)
    for subject_id in ("S01-0001", "S01-0002", "S01-0003"):
        await deliver(verified(subject_id, {"pfi": ">12", "maintenance": "none"}, now))

    randomized = await analysis(followup)
    as_verified = await analysis(followup, "?strata=verified")
    assert randomized == before
    assert as_verified["strata"] == "verified"
    assert as_verified["stratified_logrank"] != randomized["stratified_logrank"]
    assert as_verified["cox_stratified"] != randomized["cox_stratified"]
    for unchanged in ("arms", "logrank", "cox", "at_risk", "n"):
        assert as_verified[unchanged] == randomized[unchanged]
    # A cut-off before the verification uses the strata as randomized.
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    assert (await analysis(followup, f"?strata=verified&cutoff={yesterday}"))[
        "stratified_logrank"] == (await analysis(followup, f"?cutoff={yesterday}"))[
        "stratified_logrank"]

    adsl = list(csv.DictReader(io.StringIO((await followup.client.get(
        "/v1/exports/adsl.csv", headers=STATISTICIAN)).text)))
    changed = {r["USUBJID"] for r in adsl if r["STRATAR"] != r["STRATAV"]}
    assert changed == {"S01-0001", "S01-0002", "S01-0003"}
    row = next(r for r in adsl if r["USUBJID"] == "S01-0001")
    assert (row["STRATAR"], row["STRATAV"]) == ("maintenance=none;pfi=6-12",
                                                "maintenance=none;pfi=>12")
    adtte = list(csv.DictReader(io.StringIO((await followup.client.get(
        "/v1/exports/adtte.csv?strata=verified", headers=STATISTICIAN)).text)))
    assert next(r for r in adtte if r["USUBJID"] == "S01-0001")["STRATA"] == (
        "maintenance=none;pfi=>12")
    posted = await followup.client.post(
        "/v1/analysis/pfs", headers=STATISTICIAN | {"Content-Type": "text/csv"},
        content=(await followup.client.get("/v1/exports/adtte.csv?strata=verified",
                                           headers=STATISTICIAN)).content)
    assert posted.json()["stratified_logrank"] == as_verified["stratified_logrank"]


async def test_the_latest_verification_wins_whatever_the_order_of_arrival(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    deliver: Callable[[Any], Awaitable[None]],
) -> None:
    await register("S01-0001", stratum={"pfi": "6-12", "maintenance": "none"})
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    later = dt.datetime.now(dt.UTC)
    await deliver(verified("S01-0001", {"pfi": "6-12", "maintenance": "none"}, later))
    await deliver(verified("S01-0001", {"pfi": ">12", "maintenance": "none"}, earlier))
    adsl = (await followup.client.get("/v1/exports/adsl.csv", headers=STATISTICIAN)).text
    row = next(csv.DictReader(io.StringIO(adsl)))
    assert row["STRATAV"] == row["STRATAR"] == "maintenance=none;pfi=6-12"


async def test_a_verification_of_an_unknown_allocation_is_not_dropped(
    deliver: Callable[[Any], Awaitable[None]],
) -> None:
    with pytest.raises(LookupError):  # retried by the consumer, then dead-lettered
        await deliver(verified(f"S01-{uuid.uuid4().hex[:4]}", {"pfi": ">12"},
                               dt.datetime.now(dt.UTC)))
