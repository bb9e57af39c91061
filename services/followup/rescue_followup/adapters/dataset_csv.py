"""ADaM datasets as CSV: the variable names as header, dates as ISO 8601, UTF-8."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence

from rescue_followup.domain.adam import Dataset, Value


def _text(value: Value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def write_dataset_csv(dataset: Dataset, rows: Sequence[Mapping[str, Value]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(dataset.column_names)
    for row in rows:
        writer.writerow([_text(row.get(name)) for name in dataset.column_names])
    return out.getvalue().encode()
