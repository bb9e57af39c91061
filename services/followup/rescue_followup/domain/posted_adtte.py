"""ADTTE CSV posted by a statistician: the minimal form accepted, checked column-wise (pure).

Required columns: USUBJID, ARM, STARTDT, ADT, AVAL, CNSR. Optional: STRATA (default empty, one
stratum), PARAMCD (default PFS), EVNTDESC / CNSDTDSC (default "Disease Progression" for CNSR 0 /
"Last Tumor Assessment" for CNSR 1), INVALFL (default N). Missing optional columns are filled in
and the cells go through the domain's checks (`validate_adtte_cells`), which report every
problem with its CSV line (header = row 1) and column; a record whose number of cells differs
from the header's is reported too (column "*"). Line numbers are those of the text as posted.
Rows come back in USUBJID order, the order the live analysis uses, so the same data give the
very same figures.

The checks run on whole columns (numpy / pandas; each distinct date or AVAL text is parsed
once), not row by row through pydantic: 100,000 rows take a fraction of a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rescue_followup.domain.adtte import (
    CNSDTDSC_LAST_ASSESSMENT,
    EVNTDESC_PROGRESSION,
    PARAMCD_PFS,
    RANK_CELLS,
    AdtteRow,
    AdtteValidationError,
    RowIssues,
    read_csv_table,
    rows_from_frame,
    validate_adtte_cells,
)

if TYPE_CHECKING:
    import pandas as pd

FILLED_COLUMNS = ("STRATA", "PARAMCD", "EVNTDESC", "CNSDTDSC")


def read_posted_adtte_frame(text: str) -> pd.DataFrame:
    """Validated ADTTE frame (ADaM column names) of posted CSV text, in USUBJID order.

    AdtteValidationError lists every problem found.
    """
    table = read_csv_table(text)
    columns = table.header
    width = len(columns)
    issues = RowIssues()
    counts = table.widths
    issues.where(counts != width, table.lines, RANK_CELLS, "*",
                 lambda i: f"has {counts[i]} cells where the header has {width}")
    cells = table.cells()
    n = len(table.lines)
    missing = [c for c in FILLED_COLUMNS if c not in columns]
    if missing:
        if "CNSR" not in columns:
            cnsr = np.full(n, "", dtype=object)
        else:  # defaults follow the first CNSR column
            cnsr = table.columns[columns.index("CNSR")]
        defaults = {
            "STRATA": np.full(n, "", dtype=object),
            "PARAMCD": np.full(n, PARAMCD_PFS, dtype=object),
            "EVNTDESC": np.where(cnsr == "0", EVNTDESC_PROGRESSION, "").astype(object),
            "CNSDTDSC": np.where(cnsr == "1", CNSDTDSC_LAST_ASSESSMENT, "").astype(object),
        }
        cells.update({c: defaults[c] for c in missing})
    frame, found = validate_adtte_cells(cells, table.lines, header_row=table.header_line,
                                        issues=issues)
    if found:
        raise AdtteValidationError(sorted(found, key=lambda i: (i.row is None, i.row or 0)))
    return frame.sort_values("USUBJID", kind="stable").reset_index(drop=True)


def read_posted_adtte(text: str) -> list[AdtteRow]:
    """Rows of posted ADTTE CSV text; AdtteValidationError lists every problem found."""
    return rows_from_frame(read_posted_adtte_frame(text))
