"""KELIM cohorts posted as long-form CSV: the single-series calculator's figures, column-wise
validation naming line and column, cohorts beyond the JSON limit answered (streamed)."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from rescue_prediction.adapters.csv_columns import split_plain
from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.units import Ca125Observation
from rescue_prediction.service_layer.calculators import Series, calculate_kelim
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
STATISTICIAN = auth(None, "statistician")
HEADER = "series_id,chemotherapy_start_date,date,value,unit,comparator"
START = date(2026, 1, 5)
CSV_IN = STATISTICIAN | {"Content-Type": "text/csv"}
FIGURES = ("k_per_day", "half_life_days", "standardized", "r_squared", "residual_sd_log")


def cohort(count: int, seed: int = 20261130) -> list[dict[str, Any]]:
    """Random series plus the edge cases: too short, one day, a same-day repeat, censored values,
    kU/L, values before the baseline window and after the fit window, a rising series."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        k = float(rng.lognormal(math.log(0.037), 0.6)) * (1 if i % 10 else -0.3)
        days = sorted({0, *rng.integers(-40, 80, size=int(rng.integers(0, 7))).tolist()})
        out.append({"id": f"P{i:04d}", "points": [
            (d, round(800 * math.exp(-k * d + float(rng.normal(0, 0.1))), 3), "U/mL", "")
            for d in days]})
    out += [
        {"id": "short", "points": [(0, 500.0, "U/mL", ""), (21, 200.0, "U/mL", "")]},
        {"id": "one day", "points": [(7, 300.0, "U/mL", ""), (7, 300.0, "kU/L", ""),
                                     (7, 300.0, "U/mL", "")]},
        {"id": "censored, kU/L", "points": [(-3, 900.0, "kU/L", ""), (14, 400.0, "kU/L", ""),
                                            (28, 5.0, "U/mL", "<"), (35, 9000.0, "U/mL", ">="),
                                            (42, 90.0, "u/ml", "")]},
        {"id": "with, comma \"quoted\"", "points": [(0, 100.0, "U/mL", ""),
                                                    (21, 200.0, "U/mL", ""),
                                                    (42, 400.0, "U/mL", "")]},
    ]
    return out


def long_csv(series: list[dict[str, Any]], *, interleave: bool = True) -> str:
    """One row per measurement; series interleaved (round robin) to show row order is free."""
    rows = [(rank, i, s["id"], p) for i, s in enumerate(series)
            for rank, p in enumerate(s["points"])]
    if interleave:
        rows.sort(key=lambda r: (r[0], r[1]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER.split(","))
    for _, _, sid, (day, value, unit, comparator) in rows:
        writer.writerow([sid, START.isoformat(), (START + timedelta(days=day)).isoformat(),
                         value, unit, comparator])
    return out.getvalue()


def single(series: dict[str, Any]) -> dict[str, Any]:
    """The single-series calculator's figures (the same use case as `POST /v1/kelim`)."""
    figures = calculate_kelim(load_protocol(), Series(
        chemotherapy_start_date=START, measurements=[Ca125Observation(
            effective_date=START + timedelta(days=d), value=v, unit=u, comparator=c or None)
            for d, v, u, c in series["points"]]))
    return figures.kinetics.model_dump(mode="json")


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_cohort_answers_the_single_series_figures(prediction: RunningService) -> None:
    series = cohort(300)
    response = await prediction.client.post("/v1/kelim/batch", content=long_csv(series),
                                            headers=CSV_IN | {"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = parsed(response.text)
    assert [r["series_id"] for r in rows] == [s["id"] for s in series]
    assert {r["status"] for r in rows} == {"estimated", "insufficient_data"}
    for row, one in zip(rows, (single(s) for s in series), strict=True):
        assert row["status"] == one["status"] and row["missing"] == (one["missing"] or "")
        assert (int(row["n_used"]), int(row["n_excluded"])) == (one["n_used"], one["n_excluded"])
        assert row["favorable"] == {True: "true", False: "false", None: ""}[one["favorable"]]
        for name in FIGURES:
            if one[name] is None:
                assert row[name] == "", name
            else:
                assert float(row[name]) == pytest.approx(one[name], rel=1e-12, abs=1e-15), name
    # spot check through HTTP: the single-series endpoint says the same
    first = next(i for i, r in enumerate(rows) if r["status"] == "estimated")
    one = (await prediction.client.post("/v1/kelim", headers=STATISTICIAN, json={
        "chemotherapy_start_date": str(START), "measurements": [
            {"date": str(START + timedelta(days=d)), "value": v, "unit": u}
            for d, v, u, _ in series[first]["points"]]})).json()["kinetics"]
    assert float(rows[first]["k_per_day"]) == pytest.approx(one["k_per_day"], rel=1e-12)


async def test_a_plain_csv_cohort_answers_the_single_series_figures(
        prediction: RunningService) -> None:
    """Without quotes the file is split by numpy (not pandas): the same figures, exactly as
    JSON carries them (CSV and JSON answers alike)."""
    series = [{**s, "id": s["id"].replace(",", ";").replace('"', "'")}
              for s in cohort(400, seed=5)]  # the edge cases kept, with ids needing no quotes
    body = long_csv(series)
    assert split_plain(body.encode()) is not None
    as_csv = await prediction.client.post("/v1/kelim/batch", content=body,
                                          headers=CSV_IN | {"Accept": "text/csv"})
    as_json = await prediction.client.post("/v1/kelim/batch", content=body, headers=CSV_IN)
    assert as_csv.status_code == as_json.status_code == 200, as_csv.text
    rows, results = parsed(as_csv.text), as_json.json()["results"]
    assert [r["series_id"] for r in rows] == [r["id"] for r in results] == [
        s["id"] for s in series]
    for row, result, one in zip(rows, results, (single(s) for s in series), strict=True):
        assert result["status"] == row["status"] == one["status"]
        assert result["missing"] == one["missing"] and row["missing"] == (one["missing"] or "")
        assert (result["n_used"], result["n_excluded"]) == (one["n_used"], one["n_excluded"])
        assert result["favorable"] == one["favorable"]
        for name in FIGURES:
            assert (result[name] is None) == (one[name] is None) == (row[name] == ""), name
            if one[name] is not None:
                assert float(row[name]) == result[name], name  # CSV and JSON: one number
                assert result[name] == pytest.approx(one[name], rel=1e-12, abs=1e-15), name


async def test_csv_and_json_batches_give_the_same_json_answer(prediction: RunningService) -> None:
    series = cohort(120, seed=3)
    as_json = {"series": [{"id": s["id"], "chemotherapy_start_date": str(START),
                           "measurements": [
                               {"date": str(START + timedelta(days=d)), "value": v, "unit": u,
                                **({"comparator": c} if c else {})}
                               for d, v, u, c in s["points"]]} for s in series]}
    from_json = await prediction.client.post("/v1/kelim/batch", json=as_json, headers=STATISTICIAN)
    from_csv = await prediction.client.post("/v1/kelim/batch", content=long_csv(series),
                                            headers=CSV_IN)
    assert from_json.status_code == from_csv.status_code == 200, from_csv.text
    assert from_csv.json() == from_json.json()
    # and the JSON batch answers CSV on request, the same rows as the CSV batch
    json_to_csv = await prediction.client.post("/v1/kelim/batch", json=as_json,
                                               headers=STATISTICIAN | {"Accept": "text/csv"})
    csv_to_csv = await prediction.client.post("/v1/kelim/batch", content=long_csv(series),
                                              headers=CSV_IN | {"Accept": "text/csv"})
    assert parsed(json_to_csv.text) == parsed(csv_to_csv.text)


async def test_bad_rows_are_named_by_line_and_column(prediction: RunningService) -> None:
    text = (f"{HEADER}\n"
            "A,2026-01-05,2026-01-05,100,U/mL,\n"            # line 2: fine
            "A,2026-01-05,2026-01-26,-4,U/mL,\n"             # 3: value <= 0
            "A,2026-01-05,2026-02-30,40,U/mL,\n"             # 4: no such date
            "B,2026-01-05,2026-01-05,100,IU,\n"              # 5: unit
            "B,2026-01-05,2026-01-26,abc,U/mL,\n"            # 6: not a number
            "B,2026-01-06,2026-02-16,25,U/mL,~\n"            # 7: other start, comparator
            ",2026-01-05,2026-01-05,100,U/mL,\n"             # 8: no id
            f"C,2026-01-05,{date.today() + timedelta(days=3)},100,U/mL,\n"  # 9: future
            "D,2026-01-05,2026-01-05,100,U/mL,\n"
            "D,2026-01-05,2026-01-05,90,U/mL,\n")            # 11: same day, other value
    response = await prediction.client.post("/v1/kelim/batch", content=text, headers=CSV_IN)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert errors == {("rows.3.value", "greater_than"), ("rows.4.date", "date"),
                      ("rows.5.unit", "unit"), ("rows.6.value", "number"),
                      ("rows.7.comparator", "comparator"), ("rows.8.series_id", "required"),
                      ("rows.9.date", "past")}
    # the series-level rules are checked once every cell is valid
    text = (f"{HEADER}\nB,2026-01-05,2026-01-05,100,U/mL,\nB,2026-01-06,2026-01-26,50,U/mL,\n"
            "D,2026-01-05,2026-01-05,100,U/mL,\nD,2026-01-05,2026-01-05,90,U/mL,\n")
    response = await prediction.client.post("/v1/kelim/batch", content=text, headers=CSV_IN)
    assert response.status_code == 422
    assert {(e["field"], e["rule"]) for e in response.json()["errors"]} == {
        ("rows.3.chemotherapy_start_date", "same_for_series"), ("rows.5.value", "conflict")}
    for text, field, rule in (
        ("series_id,date,value,unit\nA,2026-01-05,1,U/mL\n", "chemotherapy_start_date",
         "missing_column"),
        (f"{HEADER},note\nA,2026-01-05,2026-01-05,1,U/mL,,x\n", "note", "unknown_column"),
        ("", "body", "csv_header"),
    ):
        response = await prediction.client.post("/v1/kelim/batch", content=text, headers=CSV_IN)
        assert response.status_code == 422, text
        assert response.json()["errors"][0]["field"] == field
        assert response.json()["errors"][0]["rule"] == rule
    response = await prediction.client.post("/v1/kelim/batch", content="x",
                                            headers=STATISTICIAN | {"Content-Type": "text/xml"})
    assert response.status_code == 415


async def test_cohorts_beyond_the_json_limit_are_streamed(prediction: RunningService) -> None:
    count = 10_001  # the JSON batch answers 413 here
    lines = [HEADER] + [f"S{i},2026-01-05,2026-01-{5 + d:02d},{v},U/mL,"
                        for i in range(count) for d, v in ((0, 100), (10, 70), (20, 45))]
    response = await prediction.client.post("/v1/kelim/batch", content="\n".join(lines),
                                            headers=CSV_IN | {"Accept": "text/csv"})
    assert response.status_code == 200, response.text[:300]
    rows = parsed(response.text)
    assert len(rows) == count and rows[-1]["series_id"] == f"S{count - 1}"
    assert len({r["k_per_day"] for r in rows}) == 1  # the same series everywhere
    as_json = await prediction.client.post("/v1/kelim/batch", content="\n".join(lines),
                                           headers=CSV_IN)
    assert as_json.status_code == 200 and len(as_json.json()["results"]) == count
