"""Data cuts as the data monitoring committee relies on them: frozen at a date under a name, the
same bytes whenever they are asked for, whatever is recorded later."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pandas as pd
import pytest

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
TODAY = dt.date.today()
STATISTICIAN = auth(None, "statistician")
REASON = "first interim look of the data monitoring committee"
FILES = ("exports/adsl.xpt", "exports/adtte.xpt", "exports/adsl.json", "exports/adtte.json",
         "exports/adsl.csv", "exports/adtte.csv", "exports/define.xml",
         "analysis/pfs?population=itt", "analysis/pfs?population=excluding_invalidated",
         "analysis/pfs/km.png", "analysis/pfs/km.svg?population=excluding_invalidated")


def recist(day: dt.date, total: float) -> dict[str, Any]:
    return {"type": "recist", "date": day.isoformat(), "target_lesion_sum_mm": total,
            "new_lesions": False, "non_target_progression": False}


async def trial(register: Callable[..., Awaitable[Any]],
                record: Callable[..., Awaitable[Any]]) -> None:
    """Eight subjects, four per arm, two strata; half progress."""
    for i in range(8):
        subject_id, start = f"S01-{i:04d}", TODAY - dt.timedelta(days=500 - 10 * i)
        await register(subject_id, arm="SCS_CHEMO" if i % 2 else "CHEMO", randomized=start,
                       stratum={"kelim": "favourable" if i < 4 else "unfavourable"})
        assert (await record(subject_id, recist(start, 60.0))).status_code == 201
        total = 95.0 if i % 4 in (1, 2) else 55.0
        day = start + dt.timedelta(days=90 + 7 * i)
        assert (await record(subject_id, recist(day, total))).status_code == 201


async def freeze(followup: RunningService, name: str = "DMC-1", cutoff: dt.date = TODAY,
                 headers: dict[str, str] = STATISTICIAN, reason: str = REASON) -> Any:
    return await followup.client.post("/v1/data-cuts", headers=headers, json={
        "name": name, "cutoff": cutoff.isoformat(), "reason": reason})


async def files_of(followup: RunningService, name: str) -> dict[str, bytes]:
    contents = {}
    for path in FILES:
        response = await followup.client.get(f"/v1/data-cuts/{name}/{path}",
                                             headers=STATISTICIAN)
        assert response.status_code == 200, (path, response.text)
        contents[path] = response.content
    return contents


async def test_a_cut_gives_the_same_bytes_after_new_data_arrive(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await trial(register, record)
    created = await freeze(followup)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/data-cuts/DMC-1"
    cut = created.json()
    assert cut["cutoff"] == TODAY.isoformat() and cut["created_by"] and cut["reason"] == REASON
    before = await files_of(followup, "DMC-1")
    live_before = (await followup.client.get(f"/v1/exports/adtte.csv?cutoff={TODAY}",
                                             headers=STATISTICIAN)).content
    assert before["exports/adtte.csv"] == live_before  # frozen from the same derivation

    # Later: a progression recorded today, a new subject: the live export changes, the cut not.
    assert (await record("S01-0000", recist(TODAY, 99.0))).status_code == 201
    await register("S01-0100", randomized=TODAY)
    live_after = (await followup.client.get(f"/v1/exports/adtte.csv?cutoff={TODAY}",
                                            headers=STATISTICIAN)).content
    assert live_after != live_before
    assert await files_of(followup, "DMC-1") == before

    # The digests served match the bytes, and the cut's digest is that of its manifest.
    manifest = (await followup.client.get("/v1/data-cuts/DMC-1/manifest.sha256",
                                          headers=STATISTICIAN)).text
    assert hashlib.sha256(manifest.encode()).hexdigest() == cut["digest"]
    listed = {f["path"]: f["sha256"] for f in cut["files"]}
    for line in manifest.splitlines():
        sha, path = line.split("  ")
        assert listed[path] == sha
    assert listed["exports/adsl.xpt"] == hashlib.sha256(before["exports/adsl.xpt"]).hexdigest()
    read = (await followup.client.get("/v1/data-cuts/DMC-1", headers=STATISTICIAN)).json()
    assert read == cut
    listing = (await followup.client.get("/v1/data-cuts",
                                         headers=auth(None, "monitor"))).json()
    assert [c["name"] for c in listing] == ["DMC-1"]

    # The cut's XPT holds the values of its CSV; its analysis is the live one at the cut-off then.
    adtte = pd.read_sas(io.BytesIO(before["exports/adtte.xpt"]), format="xport",
                        encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(before["exports/adtte.csv"].decode())))
    assert list(adtte["USUBJID"]) == [r["USUBJID"] for r in table]
    assert [int(v) for v in adtte["AVAL"]] == [int(r["AVAL"]) for r in table]
    assert [int(v) for v in adtte["CNSR"]] == [int(r["CNSR"]) for r in table]


async def test_a_cut_name_is_never_reused_and_bad_requests_name_their_field(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await trial(register, record)
    assert (await freeze(followup)).status_code == 201
    again = await freeze(followup, cutoff=TODAY - dt.timedelta(days=1))
    assert again.status_code == 409 and "DMC-1" in again.json()["detail"]

    future = await freeze(followup, "DMC-2", cutoff=TODAY + dt.timedelta(days=3))
    assert future.status_code == 422 and "cutoff" in future.text
    vague = await freeze(followup, "DMC-2", reason="x.y.z")
    assert vague.status_code == 422 and "reason" in vague.text
    badname = await freeze(followup, "../etc")
    assert badname.status_code == 422 and "name" in badname.text
    assert (await followup.client.get("/v1/data-cuts/DMC-2",
                                      headers=STATISTICIAN)).status_code == 404


async def test_only_the_statistician_freezes_and_site_staff_read_nothing(
    followup: RunningService,
) -> None:
    for role in ("monitor", "admin", "investigator", "site_user"):
        site = None if role in ("monitor", "admin") else "S01"
        assert (await freeze(followup, headers=auth(site, role))).status_code == 403
    assert (await freeze(followup)).status_code == 201
    for role in ("site_user", "investigator"):
        response = await followup.client.get("/v1/data-cuts/DMC-1/exports/adsl.xpt",
                                             headers=auth("S01", role))
        assert response.status_code == 403


async def test_a_cut_without_enough_data_says_why_its_analysis_is_not_possible(
    followup: RunningService,
) -> None:
    assert (await freeze(followup, "empty")).status_code == 201
    response = await followup.client.get("/v1/data-cuts/empty/analysis/pfs",
                                         headers=STATISTICIAN)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    adsl = await followup.client.get("/v1/data-cuts/empty/exports/adsl.csv",
                                     headers=STATISTICIAN)
    assert adsl.status_code == 200 and adsl.text.startswith("STUDYID,USUBJID")
