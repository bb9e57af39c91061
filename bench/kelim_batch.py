"""Benchmark: KELIM cohorts, `POST /v1/kelim/batch` end to end beside the numpy fit alone.

Cohorts of noisy series of 5 CA-125 values. Timed, each the best of `repeat` runs:
- the long-form CSV request answered as CSV (reading, column-wise validation, the fit, the
  answer), at 1,000 / 10,000 / 100,000 series (beyond 10,000 the answer is streamed);
- the same cohort as the JSON request (10,000 series), answered as JSON;
- the ceiling: the vectorised fit alone (`summarise_columns`) on the same arrays in memory.
The CSV answer is checked equal to the JSON answer's figures.
Usage: `python bench/kelim_batch.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import math
import random
import tempfile
import time
from typing import Any

import common  # noqa: F401  (paths)
import numpy as np

from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.app import DEFINITION
from rescue_prediction.domain.kinetics_batch import summarise_columns
from rescue_prediction.settings import PredictionSettings
from rescue_shared.testing import RunningService, auth, run_service, settings_for

DAYS = (0, 11, 22, 33, 44)
STATISTICIAN = auth(None, "statistician")


def cohort(count: int) -> list[list[tuple[int, float]]]:
    rng = random.Random(7)
    series = []
    for _ in range(count):
        k, c0 = rng.lognormvariate(math.log(0.037), 0.6), rng.uniform(100, 3000)
        series.append([(d, float(f"{c0 * math.exp(-k * d + rng.gauss(0, 0.1)):.6g}"))
                       for d in DAYS])
    return series


def as_csv(series: list[list[tuple[int, float]]], start: dt.date) -> bytes:
    days = {d: (start + dt.timedelta(days=d)).isoformat() for d in DAYS}
    lines = ["series_id,chemotherapy_start_date,date,value,unit"]
    lines += [f"C{i:06d},{start.isoformat()},{days[d]},{v!r},U/mL"
              for i, s in enumerate(series) for d, v in s]
    return ("\n".join(lines) + "\n").encode()


def as_json(series: list[list[tuple[int, float]]], start: dt.date) -> dict[str, Any]:
    return {"series": [{"id": f"C{i:06d}", "chemotherapy_start_date": start.isoformat(),
                        "measurements": [{"date": (start + dt.timedelta(days=d)).isoformat(),
                                          "value": v, "unit": "U/mL"} for d, v in s]}
                       for i, s in enumerate(series)]}


def fit_alone(series: list[list[tuple[int, float]]], repeat: int) -> float:
    """The vectorised fit on long-form arrays already in memory (the ceiling)."""
    settings = load_protocol().kinetics_settings()
    n = len(series)
    index = np.repeat(np.arange(n), len(DAYS))
    day = np.tile(np.array(DAYS, dtype=float), n)
    value = np.array([v for s in series for _, v in s])
    censoring = np.zeros(len(day), dtype=np.int8)
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        summarise_columns(index, day, value, censoring, n, settings)
        best = min(best, time.perf_counter() - started)
    return best


async def timed_post(service: RunningService, repeat: int, **request: Any
                     ) -> tuple[float, bytes]:
    best, content = math.inf, b""
    for _ in range(repeat):
        started = time.perf_counter()
        response = await service.client.post("/v1/kelim/batch", timeout=600, **request)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text[:300]
        best, content = min(best, elapsed), response.content
    return best, content


async def measure(sizes: tuple[int, ...], repeat: int) -> dict[str, Any]:
    start = dt.date.today() - dt.timedelta(days=60)
    out: dict[str, Any] = {"kelim_csv_s": {}, "kelim_fit_s": {}}
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(PredictionSettings,
                                database_url=f"sqlite+aiosqlite:///{tmp}/prediction.db",
                                messaging_enabled=False)
        async with run_service(DEFINITION, settings) as service:
            await timed_post(service, 1, content=as_csv(cohort(10), start), headers=STATISTICIAN
                             | {"Content-Type": "text/csv"})  # warm-up: pandas loads on first use
            for count in sizes:
                series = cohort(count)
                elapsed, answer = await timed_post(
                    service, repeat, content=as_csv(series, start),
                    headers=STATISTICIAN | {"Content-Type": "text/csv", "Accept": "text/csv"})
                out["kelim_csv_s"][str(count)] = elapsed
                out["kelim_fit_s"][str(count)] = fit_alone(series, repeat)
                if count == 10_000:
                    json_s, json_answer = await timed_post(
                        service, repeat, json=as_json(series, start), headers=STATISTICIAN)
                    out["kelim_json_10k_s"] = json_s
                    rows = list(csv.DictReader(io.StringIO(answer.decode())))
                    import json
                    results = json.loads(json_answer)["results"]
                    assert [r["series_id"] for r in rows] == [r["id"] for r in results]
                    assert all(float(r["k_per_day"]) == j["k_per_day"]
                               for r, j in zip(rows, results, strict=True)), "CSV != JSON"
    return out


def run(*, quick: bool = False, repeat: int | None = None) -> dict[str, Any]:
    repeat = repeat or (1 if quick else 3)
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    out = asyncio.run(measure(sizes, repeat))
    csv_10k, fit_10k = out["kelim_csv_s"]["10000"], out["kelim_fit_s"]["10000"]
    out["kelim_batch_series_per_s"] = 10_000 / csv_10k
    out["kelim_fit_series_per_s"] = 10_000 / fit_10k
    out["kelim_batch_ratio_to_fit"] = fit_10k / csv_10k
    out["kelim_json_batch_series_per_s"] = 10_000 / out["kelim_json_10k_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()
