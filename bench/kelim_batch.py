"""Benchmark: the KELIM calculators for research cohorts.

Times `POST /v1/kelim/batch` with 10,000 noisy series of 5 CA-125 values (the whole request:
validation, unit normalisation, the vectorised fit, the JSON answer), and the vectorised fit alone
(`fit_many`) against the same fit series by series (`fit_k`), which it must equal.
Usage: `make bench` or `python bench/kelim_batch.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import random
import tempfile
import time

from rescue_prediction.adapters.protocol_files import load_protocol as protocol
from rescue_prediction.app import DEFINITION
from rescue_prediction.domain.kinetics import KineticPoint, fit_k
from rescue_prediction.domain.kinetics_batch import fit_many, summarise_many
from rescue_prediction.settings import PredictionSettings
from rescue_shared.testing import auth, run_service, settings_for

DAYS = (0, 11, 22, 33, 44)


def cohort(count: int) -> list[list[tuple[int, float]]]:
    rng = random.Random(7)
    series = []
    for _ in range(count):
        k, c0 = rng.lognormvariate(math.log(0.037), 0.6), rng.uniform(100, 3000)
        series.append([(d, c0 * math.exp(-k * d + rng.gauss(0, 0.1))) for d in DAYS])
    return series


async def http_batch(series: list[list[tuple[int, float]]]) -> tuple[float, int]:
    start = dt.date.today() - dt.timedelta(days=60)
    body = {"series": [{"id": f"C{i:05d}", "chemotherapy_start_date": start.isoformat(),
                        "measurements": [{"date": (start + dt.timedelta(days=d)).isoformat(),
                                          "value": float(f"{v:.6g}"), "unit": "U/mL"}
                                         for d, v in s]}
                       for i, s in enumerate(series)]}
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(PredictionSettings,
                                database_url=f"sqlite+aiosqlite:///{tmp}/prediction.db",
                                messaging_enabled=False)
        async with run_service(DEFINITION, settings) as service:
            started = time.perf_counter()
            response = await service.client.post("/v1/kelim/batch", json=body,
                                                 headers=auth(None, "statistician"),
                                                 timeout=300)
            elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:500]
    return elapsed, len(response.content)


def run(count: int) -> None:
    series = cohort(count)
    settings = protocol().kinetics_settings()
    points = [[KineticPoint(day=float(d), value_u_ml=v) for d, v in s] for s in series]
    started = time.perf_counter()
    vectorised = fit_many(points, settings)
    t_many = time.perf_counter() - started
    started = time.perf_counter()
    summarise_many(points, settings)
    t_summary = time.perf_counter() - started
    started = time.perf_counter()
    one_by_one = [fit_k(p, settings) for p in points]
    t_each = time.perf_counter() - started
    worst = max(abs(a.k_per_day - b.k_per_day) / b.k_per_day
                for a, b in zip(vectorised, one_by_one, strict=True)
                if a.k_per_day is not None and b.k_per_day is not None)
    elapsed, size = asyncio.run(http_batch(series))
    print(f"\nKELIM for {count} series of {len(DAYS)} values")
    print(f"POST /v1/kelim/batch (whole request): {elapsed:.2f} s, "
          f"{count / elapsed:.0f} series/s, answer {size / 1e6:.1f} MB")
    print(f"summarise_many (numpy, figures only): {t_summary * 1000:.0f} ms")
    print(f"fit_many (numpy, per-point detail):   {t_many * 1000:.0f} ms")
    print(f"fit_k series by series:               {t_each * 1000:.0f} ms "
          f"(largest relative difference in K: {worst:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    run(parser.parse_args().count)


if __name__ == "__main__":
    main()
