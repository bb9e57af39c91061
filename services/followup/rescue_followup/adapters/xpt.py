"""SAS transport (XPT) version 5 files of ADaM datasets, written by pyreadstat (ReadStat).

Version 5 is what the FDA accepts: 8-character names, 40-character labels, 200-byte text values.
Dates become SAS day numbers (days since 1960-01-01) with the DATE9. format, as ADaM expects.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping, Sequence

from rescue_followup.domain.adam import Dataset, Value, Variable

SAS_EPOCH = dt.date(1960, 1, 1)


def sas_date(value: dt.date) -> int:
    return (value - SAS_EPOCH).days


def _cell(value: Value, var: Variable) -> str | float | None:
    """A value as XPT stores it: text (missing is blank), or a number (SAS dates are day
    numbers; missing is SAS's missing value)."""
    if var.data_type == "text":
        return "" if value is None else str(value)
    if isinstance(value, dt.date):
        return float(sas_date(value))
    if isinstance(value, int):
        return float(value)
    return value


def write_xpt(dataset: Dataset, rows: Sequence[Mapping[str, Value]]) -> bytes:
    """The dataset as XPT v5 bytes: table name, file label, variable labels and formats set."""
    import pandas as pd  # loaded on first export, not at service start
    import pyreadstat

    frame = pd.DataFrame({
        var.name: pd.Series([_cell(row.get(var.name), var) for row in rows],
                            dtype=object if var.data_type == "text" else "float64")
        for var in dataset.variables
    })
    fd, path = tempfile.mkstemp(suffix=".xpt")
    os.close(fd)
    try:
        pyreadstat.write_xport(
            frame, path, file_label=dataset.label, table_name=dataset.name,
            column_labels={v.name: v.label for v in dataset.variables},
            variable_format={v.name: "DATE9" for v in dataset.variables
                             if v.data_type == "date"},
            file_format_version=5,
        )
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)
