"""The KELIM cohort answer, one row per series, as CSV or as the JSON `results` items.

Written column by column: each column becomes a list of texts with one array operation or one
C-level `map` (floats as `float.__repr__`, the shortest text that reads back to the same number,
which `json` and `csv` write too), then the rows are joined once. No object per series.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from rescue_prediction.domain.kinetics_batch import SummaryColumns

ANSWER_COLUMNS = ("series_id", "status", "k_per_day", "half_life_days", "standardized",
                  "favorable", "n_used", "n_excluded", "r_squared", "residual_sd_log", "missing")
_STATUS = np.array(["insufficient_data", "estimated"], dtype=object)
_JSON_ROW = ('{"id":%s,"status":"%s","k_per_day":%s,"half_life_days":%s,"standardized":%s,'
             '"favorable":%s,"n_used":%s,"n_excluded":%s,"r_squared":%s,"residual_sd_log":%s,'
             '"missing":%s}')


def _floats(values: np.ndarray, none: str) -> list[str]:
    """Each float as `repr` writes it, `none` for NaN."""
    texts = list(map(float.__repr__, values.tolist()))
    for i in np.flatnonzero(np.isnan(values)).tolist():
        texts[i] = none
    return texts


def _integers(values: np.ndarray) -> list[str]:
    """Small non-negative counts as text, through a table of the texts up to the largest."""
    table = np.array([str(i) for i in range(int(values.max(initial=0)) + 1)], dtype=object)
    texts: list[str] = table[values].tolist()
    return texts


def _truth(c: SummaryColumns, true: str, false: str, none: str) -> list[str]:
    codes = np.where(c.estimated, 1 + c.favorable.astype(np.int8), 0)
    texts: list[str] = np.array([none, false, true], dtype=object)[codes].tolist()
    return texts


def _quoted(text: str) -> str:
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_texts(texts: list[str]) -> list[str]:
    joined = "".join(texts)
    if not any(ch in joined for ch in ',"\r\n'):  # the usual ids: nothing to quote
        return texts
    return [_quoted(t) for t in texts]


def _json_texts(texts: list[str]) -> list[str]:
    joined = "".join(texts)
    if joined.isascii() and joined.isprintable() and '"' not in joined and "\\" not in joined:
        return list(map('"{}"'.format, texts))  # as json.dumps writes them: nothing to escape
    return list(map(json.dumps, texts))


def _missing(c: SummaryColumns, none: str, text: Any) -> list[str]:
    """Why each series could not be fitted (`text` of the message), `none` for the others."""
    texts = [none] * len(c.missing)
    for i in np.flatnonzero(~c.estimated).tolist():
        message = c.missing[i]
        texts[i] = none if message is None else text(message)
    return texts


def csv_answer(ids: list[str], c: SummaryColumns, *, header: bool) -> str:
    """CSV rows in ANSWER_COLUMNS order (booleans true/false, '' for none)."""
    columns = [
        _csv_texts(ids), _STATUS[c.estimated.astype(np.int8)].tolist(),
        *(_floats(a, "") for a in (c.k_per_day, c.half_life_days, c.standardized)),
        _truth(c, "true", "false", ""), _integers(c.n_used), _integers(c.n_excluded),
        *(_floats(a, "") for a in (c.r_squared, c.residual_sd_log)),
        _missing(c, "", _quoted)]
    lines = [",".join(ANSWER_COLUMNS)] if header else []
    lines += map(",".join, zip(*columns, strict=True))
    return "\n".join(lines) + "\n" if lines else ""


def json_results(ids: list[str], c: SummaryColumns) -> str:
    """The `results` items of `KelimBatchResult` (comma-separated, no brackets), as
    `json.dumps(..., separators=(",", ":"))` writes them."""
    columns = [
        _json_texts(ids), _STATUS[c.estimated.astype(np.int8)].tolist(),
        *(_floats(a, "null") for a in (c.k_per_day, c.half_life_days, c.standardized)),
        _truth(c, "true", "false", "null"), _integers(c.n_used), _integers(c.n_excluded),
        *(_floats(a, "null") for a in (c.r_squared, c.residual_sd_log)),
        _missing(c, "null", json.dumps)]
    return ",".join(map(_JSON_ROW.__mod__, zip(*columns, strict=True)))


def csv_of_rows(rows: list[list[Any]]) -> str:
    """The CSV answer from rows already in ANSWER_COLUMNS order (the JSON batch's figures),
    formatted as `csv_answer` formats columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANSWER_COLUMNS)
    writer.writerows([["" if v is None else ("true" if v is True else "false" if v is False
                                              else v) for v in row] for row in rows])
    return out.getvalue()
