"""The KELIM cohort answer, one row per series, as CSV or as the JSON `results` items.

Written column by column as byte matrices (`cells`), then the rows in one pass: no Python
object per series or per figure. Floats are written as the shortest text that reads back to
the same number (`float_text`), in the CSV of a JSON batch (`csv_of_rows`) as well.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import astuple
from typing import Any

import numpy as np

from rescue_prediction.adapters.cells import Cells, Sparse, join_rows, table_cells, text_cells
from rescue_prediction.adapters.float_text import float_cells, float_text
from rescue_prediction.domain.kinetics_batch import SummaryColumns, summaries_of

ANSWER_COLUMNS = ("series_id", "status", "k_per_day", "half_life_days", "standardized",
                  "favorable", "n_used", "n_excluded", "r_squared", "residual_sd_log", "missing")
_STATUS = (b"insufficient_data", b"estimated")
_JSON_KEYS = (b'{"id":', b',"status":"', b'","k_per_day":', b',"half_life_days":',
              b',"standardized":', b',"favorable":', b',"n_used":', b',"n_excluded":',
              b',"r_squared":', b',"residual_sd_log":', b',"missing":', b"},")
_SEPARATOR = "\x1f"  # joins the ids for one encode; one inside an id takes the slow path


def _encoded(texts: list[str]) -> list[bytes]:
    """UTF-8 of each text, encoded at once."""
    joined = _SEPARATOR.join(texts)
    if not texts or joined.count(_SEPARATOR) != len(texts) - 1:
        return [t.encode() for t in texts]
    return joined.encode().split(_SEPARATOR.encode())


def _quoted(text: str) -> str:
    """As csv.writer quotes a field (QUOTE_MINIMAL)."""
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_ids(ids: list[str]) -> Cells:
    joined = "".join(ids)
    if any(ch in joined for ch in ',"\r\n'):  # rare: quote those that need it
        ids = [_quoted(i) for i in ids]
    return text_cells(_encoded(ids))


def _json_ids(ids: list[str]) -> Cells:
    joined = "".join(ids)
    if joined.isascii() and joined.isprintable() and '"' not in joined and "\\" not in joined:
        return text_cells(_encoded(['"' + i + '"' for i in ids]))  # json.dumps: unchanged
    return text_cells([json.dumps(i).encode() for i in ids])


def _counts(values: np.ndarray) -> Cells:
    table = [str(i).encode() for i in range(int(values.max(initial=0)) + 1)]
    return table_cells(table, values)


def _truth(c: SummaryColumns, none: bytes) -> Cells:
    codes = np.where(c.estimated, 1 + c.favorable.astype(np.int8), 0)
    return table_cells((none, b"false", b"true"), codes)


def _missing(c: SummaryColumns, none: bytes, text: Callable[[str], str]) -> list[Cells | Sparse]:
    """Why each series could not be fitted (`text` of the message), `none` for the others:
    the messages are few, so they are spliced into the rows written."""
    rows = [i for i in np.flatnonzero(~c.estimated).tolist() if c.missing[i] is not None]
    has_message = np.zeros(len(c.missing), dtype=np.int8)
    has_message[rows] = 1
    return [table_cells((none, b""), has_message),
            Sparse(np.array(rows, dtype=np.int64),
                   [text(m).encode() for m in (c.missing[i] for i in rows) if m is not None])]


def _figures(c: SummaryColumns, none: bytes) -> list[Cells]:
    """status, k, half-life, standardized, favorable, n used, n excluded, R², residual SD."""
    return [table_cells(_STATUS, c.estimated.astype(np.int8)),
            *(float_cells(a, none) for a in (c.k_per_day, c.half_life_days, c.standardized)),
            _truth(c, none), _counts(c.n_used), _counts(c.n_excluded),
            *(float_cells(a, none) for a in (c.r_squared, c.residual_sd_log))]


def csv_answer(ids: list[str], c: SummaryColumns, *, header: bool) -> bytes:
    """CSV rows in ANSWER_COLUMNS order (booleans true/false, '' for none), as `csv_of_rows`
    writes the same figures."""
    head = (",".join(ANSWER_COLUMNS) + "\n").encode() if header else b""
    try:
        id_cells = _csv_ids(ids)
    except ValueError:  # an id holding a NUL character: written by the csv module
        rows = [[i, *astuple(s)] for i, s in zip(ids, summaries_of(c), strict=True)]
        return head + csv_of_rows(rows).encode().split(b"\n", 1)[1]
    parts: list[Cells | Sparse | bytes] = []
    for column in (id_cells, *_figures(c, b"")):
        parts += [column, b","]
    parts += [*_missing(c, b"", _quoted), b"\n"]
    return head + join_rows(parts, len(ids))


def json_results(ids: list[str], c: SummaryColumns) -> bytes:
    """The `results` items of `KelimBatchResult` (comma-separated, no brackets), as
    `json.dumps(..., separators=(",", ":"))` writes them."""
    parts: list[Cells | Sparse | bytes] = [_JSON_KEYS[0]]
    for column, key in zip((_json_ids(ids), *_figures(c, b"null")), _JSON_KEYS[1:-1],
                           strict=True):
        parts += [column, key]
    parts += [*_missing(c, b"null", json.dumps), _JSON_KEYS[-1]]
    return join_rows(parts, len(ids))[:-1]


def csv_of_rows(rows: list[list[Any]]) -> str:
    """The CSV answer from rows already in ANSWER_COLUMNS order (the JSON batch's figures),
    formatted as `csv_answer` formats columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ANSWER_COLUMNS)
    writer.writerows([["" if v is None else ("true" if v is True else "false" if v is False
                                              else float_text(v) if isinstance(v, float)
                                              else v) for v in row] for row in rows])
    return out.getvalue()
