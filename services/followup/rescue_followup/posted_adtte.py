"""ADTTE CSV posted by a statistician: the minimal form accepted, checked row by row (pure).

Required columns: USUBJID, ARM, STARTDT, ADT, AVAL, CNSR. Optional: STRATA (default empty, one
stratum), PARAMCD (default PFS), EVNTDESC / CNSDTDSC (default "Disease Progression" for CNSR 0 /
"Last Tumor Assessment" for CNSR 1), INVALFL (default N). Missing optional columns are filled in
and the text goes through the domain's reader, which reports every problem with its CSV line
(header = row 1) and column; a record whose number of cells differs from the header's is
reported too. Line numbers are those of the text as posted. Rows come back in USUBJID order, the
order the live analysis uses, so the same data give the very same figures.
"""

from __future__ import annotations

import csv
import io

from rescue_followup.domain.adtte import (
    CNSDTDSC_LAST_ASSESSMENT,
    EVNTDESC_PROGRESSION,
    PARAMCD_PFS,
    AdtteIssue,
    AdtteRow,
    AdtteValidationError,
    read_adtte_csv,
)


def _defaults(column: str, cnsr: str) -> str:
    if column == "PARAMCD":
        return PARAMCD_PFS
    if column == "EVNTDESC":
        return EVNTDESC_PROGRESSION if cnsr == "0" else ""
    if column == "CNSDTDSC":
        return CNSDTDSC_LAST_ASSESSMENT if cnsr == "1" else ""
    return ""


FILLED_COLUMNS = ("STRATA", "PARAMCD", "EVNTDESC", "CNSDTDSC")


def _csv_line(cells: list[str]) -> str:
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(cells)
    return line.getvalue()


def read_posted_adtte(text: str) -> list[AdtteRow]:
    """Rows of posted ADTTE CSV text; AdtteValidationError lists every problem found."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    header_line = reader.line_num
    columns = [h.strip() for h in header]
    missing = [c for c in FILLED_COLUMNS if c not in columns]
    cnsr_at = columns.index("CNSR") if "CNSR" in columns else None

    out = io.StringIO(_csv_line(columns + missing))
    out.seek(0, io.SEEK_END)
    line_of = {1: header_line}  # line in the completed text -> line as posted
    written = 1
    issues: list[AdtteIssue] = []
    for record in reader:
        if not record:
            continue  # blank line, skipped as the domain's reader does
        if len(record) != len(columns):
            issues.append(AdtteIssue(
                row=reader.line_num, column="*",
                message=f"has {len(record)} cells where the header has {len(columns)}"))
        cells = (record + [""] * len(columns))[: len(columns)]
        cnsr = cells[cnsr_at].strip() if cnsr_at is not None else ""
        rendered = _csv_line(cells + [_defaults(c, cnsr) for c in missing])
        out.write(rendered)
        written += rendered.count("\n")
        line_of[written] = reader.line_num
    try:
        rows = read_adtte_csv(out.getvalue())
    except AdtteValidationError as exc:
        issues.extend(
            AdtteIssue(row=line_of.get(i.row, i.row) if i.row is not None else None,
                       column=i.column, message=i.message)
            for i in exc.issues)
        rows = []
    if issues:
        raise AdtteValidationError(sorted(issues, key=lambda i: (i.row is None, i.row or 0)))
    return sorted(rows, key=lambda r: r.usubjid)
