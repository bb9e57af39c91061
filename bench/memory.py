"""Benchmark: resident memory of each service alone, after start and after its heaviest use.

Each service runs as its own process (`rescue-<name> serve`, SQLite, messaging off, as one
container would run it; the four start at once); RSS is read from /proc after readiness, then
after its heaviest
endpoints: eligibility 200 screenings; prediction a 10,000-series KELIM batch as CSV and as JSON;
randomization 200 audited refusals and the audit verification; follow-up the posted PFS analysis
of a 100,000-subject ADTTE (10,000 in quick mode) and its Kaplan-Meier PNG.
Usage: `python bench/memory.py [--quick]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from collections.abc import Callable

import httpx
from common import rss_mb
from harness import ELIGIBLE_FACTS
from processes import serving_all

from rescue_shared.testing import auth

SERVICES = ("eligibility", "prediction", "randomization", "followup")


def use_eligibility(client: httpx.Client, quick: bool) -> None:
    for i in range(50 if quick else 200):
        r = client.post("/v1/screenings", headers=auth("S01", "site_user"), json={
            "subject_id": f"S01-M{i:05d}", "screening_date": "2026-03-02",
            "facts": ELIGIBLE_FACTS})
        assert r.status_code == 201, r.text


def use_prediction(client: httpx.Client, quick: bool) -> None:
    import kelim_batch

    start = dt.date.today() - dt.timedelta(days=60)
    series = kelim_batch.cohort(2_000 if quick else 10_000)
    headers = auth(None, "statistician")
    r = client.post("/v1/kelim/batch", content=kelim_batch.as_csv(series, start),
                    headers=headers | {"Content-Type": "text/csv", "Accept": "text/csv"})
    assert r.status_code == 200, r.text[:300]
    r = client.post("/v1/kelim/batch", json=kelim_batch.as_json(series, start), headers=headers)
    assert r.status_code == 200, r.text[:300]


def use_randomization(client: httpx.Client, quick: bool) -> None:
    for i in range(50 if quick else 200):
        r = client.post("/v1/randomizations", headers=auth("S01", "site_user"), json={
            "subject_id": f"S01-M{i:05d}", "consent_confirmed": True,
            "planned_maintenance": "none"})
        assert r.status_code == 409, r.text  # unknown subject: refused, and audited
    r = client.get("/v1/audit/verify", headers=auth(None, "monitor"))
    assert r.status_code == 200 and r.json()["valid"], r.text


def use_followup(client: httpx.Client, quick: bool) -> None:
    import survival

    headers = auth(None, "statistician") | {"Content-Type": "text/csv"}
    body = survival.adtte_csv(survival.trial(10_000 if quick else 100_000)).encode()
    r = client.post("/v1/analysis/pfs", content=body, headers=headers)
    assert r.status_code == 200, r.text[:300]
    r = client.post("/v1/analysis/pfs/km.png", content=body, headers=headers)
    assert r.status_code == 200, r.text[:300]


USES: dict[str, Callable[[httpx.Client, bool], None]] = {
    "eligibility": use_eligibility, "prediction": use_prediction,
    "randomization": use_randomization, "followup": use_followup}


def run(*, quick: bool = False) -> dict[str, dict[str, float]]:
    """The four services started at once, each its own process (RSS is per process), then
    used one after another."""
    idle, after = {}, {}
    with tempfile.TemporaryDirectory() as tmp, serving_all(
            {name: {"MESSAGING_ENABLED": "false"} for name in SERVICES}, tmp) as running:
        for name, (pid, _) in running.items():
            idle[name] = rss_mb(pid)
        for name, (pid, client) in running.items():
            USES[name](client, quick)
            after[name] = rss_mb(pid)
    return {"rss_idle_mb": idle, "rss_after_use_mb": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()
