"""KELIM cohorts as long-form CSV: read and validated column by column, answered as CSV or JSON.

One row per CA-125 measurement: `series_id,chemotherapy_start_date,date,value,unit`, optionally
`comparator` ('<', '<=', '>', '>=') and `loinc`. Every column is checked as a whole with
numpy/pandas (the same rules as the JSON batch's `MeasurementIn`), so a 10,000-series cohort never
becomes 50,000 Python objects. An error names its line in the file (header = line 1) and column:
`rows.<line>.<column>`. pandas is imported on first use (the prediction service's memory at rest).
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from rescue_prediction.domain.kinetics_batch import LongFormCohort, SummaryColumns
from rescue_prediction.domain.units import KINETICS_LOINC, MAX_VALUE_U_ML, UNIT_FACTORS
from rescue_shared.errors import invalid_fields

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("series_id", "chemotherapy_start_date", "date", "value", "unit")
OPTIONAL_COLUMNS = ("comparator", "loinc")
MAX_ID_LENGTH = 100
MAX_REPORTED_ERRORS = 20
EPOCH = date(1970, 1, 1)
_NOT_A_DATE = -(10**9)
EARLIEST = (date.min - EPOCH).days  # every valid day is >= this, and < it + 10_000_000
_CENSORING = {"": 0, "<": 1, "<=": 1, ">": 2, ">=": 2}
ANSWER_COLUMNS = ("series_id", "status", "k_per_day", "half_life_days", "standardized",
                  "favorable", "n_used", "n_excluded", "r_squared", "residual_sd_log", "missing")


class _Errors:
    """Row errors collected column by column; the first few are reported, all are counted."""

    def __init__(self, lines: np.ndarray) -> None:
        self._lines = lines
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, bad: np.ndarray, column: str, rule: str, message: str) -> None:
        rows = np.flatnonzero(bad)
        self.count += len(rows)
        for row in rows[: max(0, MAX_REPORTED_ERRORS - len(self.items))].tolist():
            self.items.append({"field": f"rows.{int(self._lines[row])}.{column}", "rule": rule,
                               "message": message})

    def raise_if_any(self) -> None:
        if not self.items:
            return
        error = invalid_fields(sorted(self.items, key=lambda e: int(e["field"].split(".")[1])))
        if self.count > len(self.items):
            error.detail += f" (first {len(self.items)} of {self.count} errors)"
        raise error


def _read(body: bytes) -> pd.DataFrame:
    import pandas as pd  # first use only: the service does not hold pandas at rest

    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, na_filter=False,
                            skipinitialspace=True, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise invalid_fields([{"field": "body", "rule": "csv_header", "message":
                               f"a header line is needed: {','.join(REQUIRED_COLUMNS)}"}]) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise invalid_fields([{"field": "body", "rule": "csv",
                               "message": f"not a readable UTF-8 CSV: {exc}"}]) from None
    header = [str(c).strip() for c in frame.columns]
    frame.columns = header
    errors = [{"field": c, "rule": "unknown_column", "message":
               f"unknown column {c!r}; expected {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"}
              for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    errors += [{"field": c, "rule": "missing_column", "message": f"column {c!r} is required"}
               for c in REQUIRED_COLUMNS if c not in header]
    errors += [{"field": c, "rule": "duplicate_column", "message": f"column {c!r} appears twice"}
               for c in dict.fromkeys(header) if header.count(c) > 1]
    if errors:
        raise invalid_fields(errors)
    return frame


def _categories(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    """Codes into the column's distinct stripped values: a cohort repeats few ids, dates and
    units, so each rule is checked once per distinct value instead of once per row."""
    import pandas as pd

    codes, uniques = pd.factorize(frame[column], sort=False)
    stripped = [str(u).strip() for u in uniques]
    again, distinct = pd.factorize(np.array(stripped, dtype=object), sort=False)
    return again[codes].astype(np.int64), [str(d) for d in distinct]


def _iso_day(text: str) -> int | None:
    """Days since 1970-01-01 of a YYYY-MM-DD date, None if it is not one."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return (date.fromisoformat(text) - EPOCH).days
    except ValueError:
        return None


def _dates(frame: pd.DataFrame, column: str, errors: _Errors, today: date) -> np.ndarray:
    """Days since 1970-01-01 (int64); _NOT_A_DATE where invalid (reported)."""
    codes, distinct = _categories(frame, column)
    parsed = np.array([_NOT_A_DATE if (d := _iso_day(t)) is None else d for t in distinct],
                      dtype=np.int64)
    days: np.ndarray = parsed[codes]
    bad = days == _NOT_A_DATE
    errors.add(bad, column, "date", "not a date (YYYY-MM-DD)")
    errors.add(~bad & (days >= (today - EPOCH).days), column, "past", "must be in the past")
    return days


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Floats, NaN where the text is not a number (C conversion; per cell only on failure)."""
    import pandas as pd

    try:
        return np.asarray(frame[column].to_numpy(dtype=object).astype(float))
    except ValueError:
        return np.asarray(pd.to_numeric(frame[column].str.strip(), errors="coerce"), dtype=float)


def _lookup(codes: np.ndarray, distinct: list[str], table: dict[str, Any], default: Any
            ) -> np.ndarray:
    values: np.ndarray = np.array([table.get(d, default) for d in distinct])[codes]
    return values


def read_long_cohort(body: bytes, *, max_points_per_series: int, today: date) -> LongFormCohort:
    """The validated cohort; `Invalid` naming every bad line and column (the first 20)."""
    frame = _read(body)
    errors = _Errors(np.arange(2, len(frame) + 2))
    index, ids = _categories(frame, "series_id")
    lengths = np.array([len(i) for i in ids], dtype=np.int64)[index]
    errors.add(lengths == 0, "series_id", "required", "a series id is required")
    errors.add(lengths > MAX_ID_LENGTH, "series_id", "max_length",
               f"at most {MAX_ID_LENGTH} characters")
    start = _dates(frame, "chemotherapy_start_date", errors, date.max)
    drawn = _dates(frame, "date", errors, today)
    value = _numbers(frame, "value")
    not_number = ~np.isfinite(value)
    errors.add(not_number, "value", "number", "not a finite number")
    errors.add(~not_number & (value <= 0), "value", "greater_than", "must be > 0")
    errors.add(~not_number & (value > MAX_VALUE_U_ML), "value", "less_than_equal",
               f"must be <= {MAX_VALUE_U_ML:,.0f} U/mL")
    unit_codes, units = _categories(frame, "unit")
    factor = _lookup(unit_codes, [u.lower() for u in units], UNIT_FACTORS, np.nan).astype(float)
    errors.add(np.isnan(factor), "unit", "unit", "not accepted (use U/mL or kU/L)")
    censoring = np.zeros(len(frame), dtype=np.int8)
    if "comparator" in frame:
        codes = _lookup(*_categories(frame, "comparator"), _CENSORING, -1).astype(np.int8)
        errors.add(codes < 0, "comparator", "comparator", "must be empty, '<', '<=', '>' or '>='")
        censoring = np.maximum(codes, 0).astype(np.int8)
    if "loinc" in frame:
        accepted = {"": True} | {code: True for code in KINETICS_LOINC}
        ok = _lookup(*_categories(frame, "loinc"), accepted, False).astype(bool)
        errors.add(~ok, "loinc", "loinc",
                   f"not a serum/plasma CA-125 code (use {', '.join(KINETICS_LOINC)})")
    errors.raise_if_any()

    # One chemotherapy start per series.
    first_start = np.full(len(ids), -1, dtype=np.int64)
    first_start[index[::-1]] = start[::-1]  # the first row of each series wins
    errors.add(start != first_start[index], "chemotherapy_start_date", "same_for_series",
               "differs from the series' first row")
    value_u_ml = value * factor
    # Same-day repeats: one value kept (the first); two different values are a conflict.
    keys = index * 10_000_000 + (drawn - EARLIEST)  # (series, day) as one integer
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    repeat_sorted = np.zeros(len(keys), dtype=bool)
    repeat_sorted[1:] = sorted_keys[1:] == sorted_keys[:-1]
    group_start = np.maximum.accumulate(np.where(repeat_sorted, 0, np.arange(len(keys))))
    repeat = np.empty(len(keys), dtype=bool)
    repeat[order] = repeat_sorted
    first_of_day = np.empty(len(keys), dtype=np.int64)
    first_of_day[order] = order[group_start]  # stable sort: the first row in the file
    conflict = repeat & (value_u_ml != value_u_ml[first_of_day])
    errors.add(conflict, "value", "conflict", "two different values on one day of the series")
    kept = ~repeat
    counts = np.bincount(index[kept], minlength=len(ids))
    too_many = counts[index] > max_points_per_series
    errors.add(too_many & (np.cumsum(too_many) == 1), "series_id", "max_points",
               f"a series has at most {max_points_per_series} measurements")
    errors.raise_if_any()
    return LongFormCohort(ids=ids, series_index=index[kept],
                          day=(drawn - start)[kept].astype(float), value_u_ml=value_u_ml[kept],
                          censoring=censoring[kept])


def _texts(values: np.ndarray) -> list[str]:
    """Floats as Python's shortest round-trip repr, '' for NaN (None)."""
    return ["" if v != v else repr(v) for v in values.tolist()]


def _quoted(text: str | None) -> str:
    if text is None:
        return ""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_answer(ids: list[str], c: SummaryColumns, *, header: bool) -> str:
    """CSV rows in ANSWER_COLUMNS order, column by column (booleans true/false, '' for none)."""
    estimated = c.estimated.tolist()
    columns = [
        [_quoted(i) for i in ids],
        ["estimated" if e else "insufficient_data" for e in estimated],
        *(_texts(a) for a in (c.k_per_day, c.half_life_days, c.standardized)),
        [("true" if f else "false") if e else "" for f, e in zip(
            c.favorable.tolist(), estimated, strict=True)],
        [str(n) for n in c.n_used.tolist()], [str(n) for n in c.n_excluded.tolist()],
        *(_texts(a) for a in (c.r_squared, c.residual_sd_log)),
        [_quoted(m) for m in c.missing]]
    lines = [",".join(ANSWER_COLUMNS)] if header else []
    lines += map(",".join, zip(*columns, strict=True))
    return "\n".join(lines) + "\n" if lines else ""


def _none_if_nan(values: list[float]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values]


def csv_of_rows(rows: list[list[Any]]) -> str:
    """The CSV answer from rows already in ANSWER_COLUMNS order (the JSON batch's figures),
    formatted as `csv_answer` formats columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANSWER_COLUMNS)
    writer.writerows([["" if v is None else ("true" if v is True else "false" if v is False
                                              else v) for v in row] for row in rows])
    return out.getvalue()


def json_results(ids: list[str], c: SummaryColumns) -> str:
    """The `results` items of `KelimBatchResult` (comma-separated, no brackets)."""
    estimated = c.estimated.tolist()
    columns = {
        "id": ids, "status": ["estimated" if e else "insufficient_data" for e in estimated],
        "k_per_day": _none_if_nan(c.k_per_day.tolist()),
        "half_life_days": _none_if_nan(c.half_life_days.tolist()),
        "standardized": _none_if_nan(c.standardized.tolist()),
        "favorable": [f if e else None for f, e in zip(c.favorable.tolist(), estimated,
                                                        strict=True)],
        "n_used": c.n_used.tolist(), "n_excluded": c.n_excluded.tolist(),
        "r_squared": _none_if_nan(c.r_squared.tolist()),
        "residual_sd_log": _none_if_nan(c.residual_sd_log.tolist()), "missing": c.missing}
    names = list(columns)
    items = [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    return json.dumps(items, separators=(",", ":"))[1:-1]
