"""Benchmark: the primary PFS analysis at 1,000 / 10,000 / 100,000 subjects, beside lifelines.

Times, for simulated trials (two arms, 4 strata, integer days with many ties, ~70 % events):
- `POST /v1/analysis/pfs` with the ADTTE CSV (the whole request: reading and validating the CSV,
  KM by arm with log-log intervals, medians, landmarks, log-rank plain and stratified, Cox plain
  and stratified, numbers at risk, the JSON answer);
- the live `GET /v1/analysis/pfs` on a SQLite follow-up database filled through its tables
  (each subject registered with two RECIST records: a baseline and a progression or a last
  assessment), which adds loading the records and deriving each subject's PFS;
- lifelines alone fitting the same three estimators on the same arrays in memory
  (`KaplanMeierFitter` per arm, `logrank_test`, `CoxPHFitter`), the yardstick of the issue.
The live path runs at 1,000 and 10,000 subjects (and 100,000 with --live-100k: filling and
loading 300,000 rows takes minutes and measures the ORM, not the statistics); the live and the
posted answers are checked to be the same figures. Each time is the best of --repeat runs.

Usage: `python bench/survival.py [--quick] [--repeat N] [--live-100k]`; `run()` returns a dict
with `pfs_100k_s` (posted, 100,000 subjects) and `pfs_100k_lifelines_s` among others.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from sqlalchemy import insert

from rescue_followup.adapters.tables import Assessment, FollowupSubject
from rescue_followup.app import DEFINITION
from rescue_followup.settings import FollowupSettings
from rescue_shared.testing import RunningService, auth, run_service, settings_for

STATISTICIAN = auth(None, "statistician")
SITES = ("S01", "S02")
PFI = ("6-12", ">12")


def trial(count: int, seed: int = 2026) -> pd.DataFrame:
    """Subjects: arm, strata (pfi x site), randomization date, AVAL (>= 2 days), CNSR."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, count)
    pfi, site = rng.integers(0, 2, count), rng.integers(0, 2, count)
    rate = np.where(arm == 1, 0.75, 1.0) * (1 + 0.5 * pfi + 0.2 * site) / 300
    event_day = np.ceil(rng.exponential(1 / rate)).astype(int) + 1
    censor_day = rng.integers(30, 1100, count)
    today = dt.date.today()
    first = today - dt.timedelta(days=1500)
    return pd.DataFrame({
        "USUBJID": [f"S{s + 1:02d}-{i:06d}" for i, s in enumerate(site)],
        "ARM": np.where(arm == 1, "SCS_CHEMO", "CHEMO"),
        "pfi": np.array(PFI)[pfi], "site": np.array(SITES)[site],
        "STARTDT": [first + dt.timedelta(days=int(d)) for d in rng.integers(0, 300, count)],
        "AVAL": np.minimum(event_day, censor_day),
        "CNSR": (censor_day < event_day).astype(int),
    })


def adtte_csv(data: pd.DataFrame) -> str:
    """The minimal ADTTE a statistician posts (STRATA as the live export writes it)."""
    adt = [s + dt.timedelta(days=int(a) - 1) for s, a in zip(data["STARTDT"], data["AVAL"],
                                                              strict=True)]
    frame = pd.DataFrame({
        "USUBJID": data["USUBJID"], "ARM": data["ARM"],
        "STRATA": "pfi=" + data["pfi"] + ";site=" + data["site"],
        "STARTDT": [d.isoformat() for d in data["STARTDT"]], "ADT": [d.isoformat() for d in adt],
        "AVAL": data["AVAL"], "CNSR": data["CNSR"],
    })
    return str(frame.to_csv(index=False, lineterminator="\n"))


def lifelines_alone(data: pd.DataFrame) -> float:
    """KM per arm, log-rank and Cox (lifelines' defaults) on arrays already in memory."""
    started = time.perf_counter()
    time_, event = data["AVAL"].to_numpy(float), 1 - data["CNSR"].to_numpy()
    exp = (data["ARM"] == "SCS_CHEMO").to_numpy()
    for chosen in (exp, ~exp):
        kmf = KaplanMeierFitter().fit(time_[chosen], event[chosen])
        _ = kmf.median_survival_time_, kmf.confidence_interval_
    logrank_test(time_[exp], time_[~exp], event[exp], event[~exp])
    frame = pd.DataFrame({"T": time_, "E": event, "scs": exp.astype(int)})
    CoxPHFitter().fit(frame, duration_col="T", event_col="E")
    return time.perf_counter() - started


async def fill(service: RunningService, data: pd.DataFrame) -> None:
    """Register the subjects and their two RECIST records straight into the tables."""
    now = dt.datetime.now(dt.UTC)
    subjects, records = [], []
    for i, row in enumerate(data.itertuples(index=False)):
        site = row.USUBJID[:3]
        subjects.append({
            "subject_id": row.USUBJID, "site_id": site, "randomization_number": f"R{i:06d}",
            "arm": row.ARM, "stratum": {"pfi": row.pfi, "site": row.site},
            "randomization_date": row.STARTDT, "scheme": "bench", "protocol_version": "1",
            "assigned_event_id": str(uuid.uuid4()), "registered_at": now, "invalidated": False})
        common = {"subject_id": row.USUBJID, "site_id": site, "recorded_by": "bench",
                  "created_at": now, "supersedes_id": None, "correction_reason": None}
        records.append(common | {
            "id": str(uuid.uuid4()), "type": "recist", "assessment_date": row.STARTDT,
            "data": {"target_lesion_sum_mm": 50.0, "new_lesions": False,
                     "non_target_progression": False}})
        records.append(common | {
            "id": str(uuid.uuid4()), "type": "recist",
            "assessment_date": row.STARTDT + dt.timedelta(days=int(row.AVAL) - 1),
            "data": {"target_lesion_sum_mm": 50.0, "new_lesions": row.CNSR == 0,
                     "non_target_progression": False}})
    async with service.app.state.database.session() as session:
        for start in range(0, len(subjects), 5000):
            await session.exec(insert(FollowupSubject), params=subjects[start:start + 5000])
        for start in range(0, len(records), 10000):
            await session.exec(insert(Assessment), params=records[start:start + 10000])
        await session.commit()


async def timed(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, answer = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        response = await call()
        best = min(best, time.perf_counter() - started)
        assert response.status_code == 200, response.text[:500]
        answer = response.json()
    return best, answer


# Statements of the source, not figures: a live answer names its cut-off and the strata it used
# ("randomized" or "verified"); a posted ADTTE's strata are its STRATA column (stated as None).
SOURCE_FIELDS = frozenset({"data_cutoff", "strata"})


def figures(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in SOURCE_FIELDS}


async def measure(count: int, *, live: bool, repeat: int) -> dict[str, float]:
    data = trial(count)
    body = adtte_csv(data).encode()
    headers = STATISTICIAN | {"Content-Type": "text/csv"}
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(FollowupSettings,
                                database_url=f"sqlite+aiosqlite:///{tmp}/followup.db",
                                messaging_enabled=False)
        async with run_service(DEFINITION, settings) as service:
            client = service.client
            await timed(lambda: client.post(  # warm-up: lifelines and scipy load on first use
                "/v1/analysis/pfs", content=adtte_csv(trial(200)).encode(), headers=headers), 1)
            result["posted_s"], posted = await timed(lambda: client.post(
                "/v1/analysis/pfs", content=body, headers=headers, timeout=600), repeat)
            if live:
                started = time.perf_counter()
                await fill(service, data)
                result["fill_s"] = time.perf_counter() - started
                result["live_s"], answer = await timed(lambda: client.get(
                    "/v1/analysis/pfs", headers=STATISTICIAN, timeout=600), repeat)
                assert figures(answer) == figures(posted), "live and posted figures differ"
    result["lifelines_s"] = min(lifelines_alone(data) for _ in range(repeat))
    return result


def run(*, quick: bool = False, repeat: int | None = None, live_100k: bool = False
        ) -> dict[str, float | None]:
    repeat = repeat or (1 if quick else 3)
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    out: dict[str, float | None] = {}
    print(f"\nPrimary PFS analysis, best of {repeat} (seconds)")
    print(f"{'subjects':>9} {'POST':>8} {'live GET':>9} {'lifelines':>10} {'POST/lifelines':>15}")
    for count in sizes:
        live = count <= (1_000 if quick else 10_000) or (live_100k and count == 100_000)
        r = asyncio.run(measure(count, live=live, repeat=repeat))
        label = {1_000: "1k", 10_000: "10k", 100_000: "100k"}[count]
        out[f"pfs_{label}_s"] = r["posted_s"]
        out[f"pfs_{label}_lifelines_s"] = r["lifelines_s"]
        out[f"pfs_live_{label}_s"] = r.get("live_s")
        live_text = f"{r['live_s']:9.3f}" if "live_s" in r else f"{'-':>9}"
        print(f"{count:>9,} {r['posted_s']:8.3f} {live_text} {r['lifelines_s']:10.3f} "
              f"{r['posted_s'] / r['lifelines_s']:15.2f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one run per size, 1,000 and 10,000 subjects, live GET at 1,000 only")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measure (best kept)")
    parser.add_argument("--live-100k", action="store_true",
                        help="also fill a database with 100,000 subjects for the live GET")
    args = parser.parse_args()
    print(run(quick=args.quick, repeat=args.repeat, live_100k=args.live_100k))


if __name__ == "__main__":
    main()
