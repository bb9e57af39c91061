"""The primary analysis as the statistician uses it: live, posted ADTTE, figures, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlmodel import func, select

from rescue_followup.adapters.tables import Assessment, FollowupSubject
from rescue_shared.db.platform_tables import IdempotencyRecord
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
TODAY = dt.date.today()
STATISTICIAN = auth(None, "statistician")
CSV = {"Content-Type": "text/csv"}

# Freireich et al. (1963) remission times in weeks, "*" censored (Gehan 1965).
SIX_MP = ("6", "6", "6", "6*", "7", "9*", "10", "10*", "11*", "13", "16", "17*", "19*", "20*",
          "22", "23", "25*", "32*", "32*", "34*", "35*")
PLACEBO = ("1", "1", "2", "2", "3", "4", "4", "5", "5", "8", "8", "8", "8", "11", "11", "12",
           "12", "15", "17", "22", "23")


def freireich_csv(arm_of: dict[str, str]) -> str:
    """Minimal ADTTE (no STRATA, PARAMCD, EVNTDESC, CNSDTDSC): AVAL = weeks, as days."""
    start = dt.date(2020, 1, 1)
    lines = ["USUBJID,ARM,STARTDT,ADT,AVAL,CNSR"]
    for group, times in (("6-MP", SIX_MP), ("PLACEBO", PLACEBO)):
        for i, token in enumerate(times):
            weeks = int(token.rstrip("*"))
            lines.append(f"{group}-{i:02d},{arm_of[group]},{start},"
                         f"{start + dt.timedelta(days=weeks - 1)},{weeks},"
                         f"{1 if token.endswith('*') else 0}")
    return "\n".join(lines) + "\n"


async def post_csv(service: RunningService, text: str, path: str = "/v1/analysis/pfs",
                   headers: dict[str, str] = STATISTICIAN) -> Any:
    return await service.client.post(path, content=text.encode(), headers=headers | CSV)


async def test_the_freireich_data_give_the_textbook_figures(followup: RunningService) -> None:
    # Placebo as "SCS_CHEMO": the reported HR (SCS_CHEMO vs CHEMO) is then placebo vs 6-MP.
    response = await post_csv(followup, freireich_csv({"PLACEBO": "SCS_CHEMO", "6-MP": "CHEMO"}))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["logrank"]["test_statistic"] == pytest.approx(16.79, abs=0.005)
    assert result["logrank"]["p_value"] == pytest.approx(4.17e-5, rel=0.01)
    assert result["cox"]["comparison"] == "SCS_CHEMO vs CHEMO"
    assert result["cox"]["hazard_ratio"] == pytest.approx(4.82, abs=0.005)  # Efron ties
    assert result["cox"]["ci_lower"] < result["cox"]["hazard_ratio"] < result["cox"]["ci_upper"]
    placebo, six_mp = result["arms"]
    assert (placebo["arm"], placebo["n"], placebo["events"]) == ("SCS_CHEMO", 21, 21)
    assert (six_mp["arm"], six_mp["n"], six_mp["events"]) == ("CHEMO", 21, 9)
    assert (placebo["median"]["days"], six_mp["median"]["days"]) == (8.0, 23.0)
    # One stratum: the stratified log-rank is the plain one.
    assert result["stratified_logrank"]["test_statistic"] == pytest.approx(
        result["logrank"]["test_statistic"], rel=1e-9)
    assert result["data_cutoff"] is None

    # 6-MP as the experimental arm: the same test, the inverse hazard ratio (6-MP protects).
    reverse = (await post_csv(followup, freireich_csv(
        {"PLACEBO": "CHEMO", "6-MP": "SCS_CHEMO"}))).json()
    assert reverse["logrank"]["test_statistic"] == pytest.approx(16.79, abs=0.005)
    assert reverse["cox"]["hazard_ratio"] == pytest.approx(1 / 4.817, abs=0.001)
    assert reverse["cox"]["hazard_ratio"] < 1

    figure = await post_csv(followup, freireich_csv({"PLACEBO": "SCS_CHEMO", "6-MP": "CHEMO"}),
                            "/v1/analysis/pfs/km.png")
    assert figure.status_code == 200 and figure.headers["content-type"] == "image/png"
    assert figure.content.startswith(b"\x89PNG\r\n\x1a\n")


async def test_malformed_rows_are_422_naming_row_and_column_and_nothing_is_stored(
    followup: RunningService,
) -> None:
    text = freireich_csv({"PLACEBO": "SCS_CHEMO", "6-MP": "CHEMO"}).splitlines()
    text[3] = text[3].replace("2020-01-06", "2020-13-06")  # row 4: ADT is no date
    text[5] = text[5].replace(",SCS_CHEMO,", ",SURGERY,").replace(",CHEMO,", ",SURGERY,")
    text[7] = text[7][:-1] + "2"  # row 8: CNSR 2
    response = await post_csv(followup, "\n".join(text) + "\n")
    assert response.status_code == 422, response.text
    body = response.json()
    assert {(e["row"], e["column"]) for e in body["errors"]} == {
        (4, "ADT"), (6, "ARM"), (8, "CNSR")}
    assert "row 4, column ADT" in body["detail"]

    missing = await post_csv(followup, "USUBJID,ARM,STARTDT,ADT,CNSR\n")
    assert {(e["row"], e["column"]) for e in missing.json()["errors"]} >= {(1, "AVAL")}
    assert (await post_csv(followup, "", "/v1/analysis/pfs/km.png")).status_code == 422

    as_json = await followup.client.post("/v1/analysis/pfs", json={"rows": []},
                                         headers=STATISTICIAN)
    assert as_json.status_code == 415
    async with followup.app.state.database.session() as session:
        for table in (FollowupSubject, Assessment, IdempotencyRecord):
            assert (await session.exec(select(func.count()).select_from(table))).one() == 0


async def test_only_the_statistician_and_the_monitor_run_the_analysis(
    followup: RunningService,
) -> None:
    text = freireich_csv({"PLACEBO": "SCS_CHEMO", "6-MP": "CHEMO"})
    for headers in (auth("S01", "site_user"), auth("S01", "investigator")):
        assert (await post_csv(followup, text, headers=headers)).status_code == 403
        for path in ("/v1/analysis/pfs", "/v1/analysis/pfs/km.png", "/v1/exports/adtte.csv"):
            assert (await followup.client.get(path, headers=headers)).status_code == 403
    assert (await followup.client.get("/v1/analysis/pfs")).status_code == 401
    assert (await post_csv(followup, text, headers=auth(None, "monitor"))).status_code == 200


async def build_trial(
    register: Callable[..., Awaitable[Any]], record: Callable[..., Awaitable[Any]],
) -> None:
    """14 subjects in two strata: RECIST and CA-125 progressions, deaths, censorings."""
    def recist(day: dt.date, total: float, new: bool = False) -> dict[str, Any]:
        return {"type": "recist", "date": day.isoformat(), "target_lesion_sum_mm": total,
                "new_lesions": new, "non_target_progression": False}

    for i in range(14):
        arm = "SCS_CHEMO" if i % 2 == 0 else "CHEMO"
        subject_id = f"S0{1 + i % 3}-{i:04d}"
        site = subject_id[:3]
        start = TODAY - dt.timedelta(days=1000 - 13 * i)
        await register(subject_id, site=site, arm=arm, randomized=start,
                       stratum={"kelim": "favourable" if i % 4 < 2 else "unfavourable",
                                "residual": "none"})
        bodies = [recist(start, 60.0)]
        for k in range(1, 6 + i % 4):
            day = start + dt.timedelta(days=90 * k)
            progressed = (arm == "CHEMO" and k == 2 + i % 3) or (i % 5 == 0 and k == 4)
            bodies.append(recist(day, 90.0 if progressed else 55.0, new=i % 7 == 1 and k == 3))
            if progressed:
                break
        if i in (4, 10):
            bodies.append({"type": "death", "date": (start + dt.timedelta(days=300)).isoformat(),
                           "cause": "cardiac"})
            bodies = [b for b in bodies if b["date"] <= bodies[-1]["date"]]
        if i in (6, 12):
            bodies += [{"type": "ca125", "date": (start + dt.timedelta(days=d)).isoformat(),
                        "value": v, "unit": "U/mL"}
                       for d, v in ((1, 20.0), (150, 80.0), (160, 85.0))]
        if i == 8:
            bodies.append({"type": "surgery", "date": (start + dt.timedelta(days=20)).isoformat(),
                           "complete_resection": True, "residual_disease": "none"})
        for body in sorted(bodies, key=lambda b: b["date"]):
            response = await record(subject_id, body, site=site)
            assert response.status_code == 201, response.text


async def test_the_exported_adtte_posted_back_gives_the_live_analysis_exactly(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], invalidate: Callable[..., Awaitable[Any]],
) -> None:
    await build_trial(register, record)
    await invalidate("S02-0001", "S02")

    export = await followup.client.get("/v1/exports/adtte.csv", headers=STATISTICIAN)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert list(table[0]) == ["USUBJID", "ARM", "STRATA", "PARAMCD", "STARTDT", "ADT", "AVAL",
                              "CNSR", "EVNTDESC", "CNSDTDSC", "INVALFL"]
    assert len(table) == 14 and {r["PARAMCD"] for r in table} == {"PFS"}
    assert [r["USUBJID"] for r in table if r["INVALFL"] == "Y"] == ["S02-0001"]
    assert {r["EVNTDESC"] for r in table} >= {"Disease Progression", "Death"}
    assert table[0]["STRATA"] == "kelim=favourable;residual=none"

    for population in ("itt", "excluding_invalidated"):
        live = await followup.client.get(f"/v1/analysis/pfs?population={population}",
                                         headers=STATISTICIAN)
        posted = await post_csv(followup, export.text,
                                f"/v1/analysis/pfs?population={population}")
        assert live.status_code == posted.status_code == 200, (live.text, posted.text)
        # Everything but `strata`: a posted file's STRATA column is whatever it holds.
        assert live.json()["strata"] == "randomized" and posted.json()["strata"] is None
        assert {**posted.json(), "strata": "randomized"} == live.json()
        assert live.json()["n"] == (14 if population == "itt" else 13)
        assert live.json()["cox"] is not None and live.json()["stratified_logrank"][
            "n_informative_strata"] == 2
        live_png = await followup.client.get(f"/v1/analysis/pfs/km.png?population={population}",
                                             headers=STATISTICIAN)
        posted_png = await post_csv(followup, export.text,
                                    f"/v1/analysis/pfs/km.png?population={population}")
        assert live_png.headers["content-type"] == "image/png"
        assert posted_png.content == live_png.content

    svg = await followup.client.get("/v1/analysis/pfs/km.svg", headers=auth(None, "monitor"))
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "Number at risk" in svg.text and "SCS_CHEMO (n=7)" in svg.text


async def test_a_cutoff_counts_only_what_was_known_by_then(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await build_trial(register, record)
    await register("S01-0099", arm="CHEMO", randomized=TODAY)  # randomized after the cut-off
    yesterday = TODAY - dt.timedelta(days=1)
    export = await followup.client.get(f"/v1/exports/adtte.csv?cutoff={yesterday}",
                                       headers=STATISTICIAN)
    rows = list(csv.DictReader(io.StringIO(export.text)))
    # Every record was entered today: at yesterday's cut-off nobody had an assessment.
    assert len(rows) == 14
    assert {(r["AVAL"], r["CNSR"], r["CNSDTDSC"]) for r in rows} == {("1", "1", "Randomization")}
    analysis = (await followup.client.get(f"/v1/analysis/pfs?cutoff={yesterday}",
                                          headers=STATISTICIAN)).json()
    assert analysis["data_cutoff"] == yesterday.isoformat()
    assert [a["events"] for a in analysis["arms"]] == [0, 0] and analysis["n"] == 14

    today = (await followup.client.get(f"/v1/analysis/pfs?cutoff={TODAY}",
                                       headers=STATISTICIAN)).json()
    everything = (await followup.client.get("/v1/analysis/pfs", headers=STATISTICIAN)).json()
    assert today["n"] == everything["n"] == 15
    assert today["arms"] == everything["arms"] and today["cox"] == everything["cox"]

    before_trial = await followup.client.get("/v1/analysis/pfs?cutoff=2000-01-01",
                                             headers=STATISTICIAN)
    assert before_trial.status_code == 422
    assert "no subject" in before_trial.json()["detail"]
