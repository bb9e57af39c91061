"""KELIM cohorts as long-form CSV, read and validated column by column (answered by `kelim_answer`).

One row per CA-125 measurement: `series_id,chemotherapy_start_date,date,value,unit`, optionally
`comparator` ('<', '<=', '>', '>=') and `loinc`. Every column is checked as a whole with
numpy/pandas (the same rules as the JSON batch's `MeasurementIn`), so a 10,000-series cohort never
becomes 50,000 Python objects. An error names its line in the file (header = line 1) and column:
`rows.<line>.<column>`. pandas is imported on first use (the prediction service's memory at rest).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import numpy as np

from rescue_prediction.adapters.csv_columns import FrameColumns, PlainCsv, split_plain
from rescue_prediction.domain.kinetics_batch import LongFormCohort
from rescue_prediction.domain.units import KINETICS_LOINC, MAX_VALUE_U_ML, UNIT_FACTORS
from rescue_shared.errors import invalid_fields

REQUIRED_COLUMNS = ("series_id", "chemotherapy_start_date", "date", "value", "unit")
OPTIONAL_COLUMNS = ("comparator", "loinc")
MAX_ID_LENGTH = 100
MAX_REPORTED_ERRORS = 20
EPOCH = date(1970, 1, 1)
_NOT_A_DATE = -(10**9)
EARLIEST = (date.min - EPOCH).days  # every valid day is >= this, and < it + 10_000_000
_CENSORING = {"": 0, "<": 1, "<=": 1, ">": 2, ">=": 2}


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


def _read(body: bytes) -> PlainCsv | FrameColumns:
    """The file's columns: split with numpy when it is plain, read by pandas otherwise."""
    plain = split_plain(body)
    columns = _read_frame(body) if plain is None else plain
    header = columns.names
    errors = [{"field": c, "rule": "unknown_column", "message":
               f"unknown column {c!r}; expected {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"}
              for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    errors += [{"field": c, "rule": "missing_column", "message": f"column {c!r} is required"}
               for c in REQUIRED_COLUMNS if c not in header]
    errors += [{"field": c, "rule": "duplicate_column", "message": f"column {c!r} appears twice"}
               for c in dict.fromkeys(header) if header.count(c) > 1]
    if errors:
        raise invalid_fields(errors)
    return columns


def _read_frame(body: bytes) -> FrameColumns:
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
    return FrameColumns(frame)


def _categories(columns: PlainCsv | FrameColumns, column: str) -> tuple[np.ndarray, list[str]]:
    """Codes into the column's distinct stripped values: a cohort repeats few ids, dates and
    units, so each rule is checked once per distinct value instead of once per row."""
    import pandas as pd

    codes, uniques = columns.text(column)
    stripped = list(map(str.strip, uniques))
    if stripped == uniques:
        return codes, uniques
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


def _dates(columns: PlainCsv | FrameColumns, column: str, errors: _Errors, today: date
           ) -> np.ndarray:
    """Days since 1970-01-01 (int64); _NOT_A_DATE where invalid (reported)."""
    codes, distinct = _categories(columns, column)
    parsed = np.array([_NOT_A_DATE if (d := _iso_day(t)) is None else d for t in distinct],
                      dtype=np.int64)
    days: np.ndarray = parsed[codes]
    bad = days == _NOT_A_DATE
    errors.add(bad, column, "date", "not a date (YYYY-MM-DD)")
    errors.add(~bad & (days >= (today - EPOCH).days), column, "past", "must be in the past")
    return days


def _lookup(codes: np.ndarray, distinct: list[str], table: dict[str, Any], default: Any
            ) -> np.ndarray:
    values: np.ndarray = np.array([table.get(d, default) for d in distinct])[codes]
    return values


def read_long_cohort(body: bytes, *, max_points_per_series: int, today: date) -> LongFormCohort:
    """The validated cohort, its points by series then day; `Invalid` naming every bad line
    and column (the first 20)."""
    columns = _read(body)
    errors = _Errors(np.arange(2, len(columns) + 2))
    index, ids = _categories(columns, "series_id")
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))[index]
    errors.add(lengths == 0, "series_id", "required", "a series id is required")
    errors.add(lengths > MAX_ID_LENGTH, "series_id", "max_length",
               f"at most {MAX_ID_LENGTH} characters")
    start = _dates(columns, "chemotherapy_start_date", errors, date.max)
    drawn = _dates(columns, "date", errors, today)
    value = columns.numbers("value")
    not_number = ~np.isfinite(value)
    errors.add(not_number, "value", "number", "not a finite number")
    errors.add(~not_number & (value <= 0), "value", "greater_than", "must be > 0")
    errors.add(~not_number & (value > MAX_VALUE_U_ML), "value", "less_than_equal",
               f"must be <= {MAX_VALUE_U_ML:,.0f} U/mL")
    unit_codes, units = _categories(columns, "unit")
    factor = _lookup(unit_codes, [u.lower() for u in units], UNIT_FACTORS, np.nan).astype(float)
    errors.add(np.isnan(factor), "unit", "unit", "not accepted (use U/mL or kU/L)")
    censoring = np.zeros(len(columns), dtype=np.int8)
    if "comparator" in columns.names:
        codes = _lookup(*_categories(columns, "comparator"), _CENSORING, -1).astype(np.int8)
        errors.add(codes < 0, "comparator", "comparator", "must be empty, '<', '<=', '>' or '>='")
        censoring = np.maximum(codes, 0).astype(np.int8)
    if "loinc" in columns.names:
        accepted = {"": True} | {code: True for code in KINETICS_LOINC}
        ok = _lookup(*_categories(columns, "loinc"), accepted, False).astype(bool)
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
    counts = np.bincount(index[~repeat], minlength=len(ids))
    too_many = counts[index] > max_points_per_series
    errors.add(too_many & (np.cumsum(too_many) == 1), "series_id", "max_points",
               f"a series has at most {max_points_per_series} measurements")
    errors.raise_if_any()
    rows = order[~repeat_sorted]  # by series then day: the fit's own order, no sort again
    return LongFormCohort(ids=ids, series_index=index[rows],
                          day=(drawn - start)[rows].astype(float), value_u_ml=value_u_ml[rows],
                          censoring=censoring[rows])
