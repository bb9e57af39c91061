"""The column-wise ADTTE readers report exactly what the former row-by-row readers reported.

The former readers (pydantic row by row, per-cell Python parsing) are kept below verbatim as the
oracle; random data sets with every kind of defect are read by both, and the problems (row,
column, message, in order) and the rows must be the same. One deliberate difference: in a posted
file, "duplicate of row N" now names the line as posted (the former reader named a line of its
internal re-written text, off after blank lines or multi-line cells).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from collections.abc import Mapping, Sequence

import pytest

from rescue_followup.domain.adtte import (
    ARMS,
    CNSDTDSC_LAST_ASSESSMENT,
    COLUMNS,
    EVNTDESC_PROGRESSION,
    OPTIONAL_COLUMNS,
    PARAMCD_PFS,
    AdtteIssue,
    AdtteRow,
    AdtteValidationError,
    _consistency_problems,
    _csv_module_table,
    read_adtte_csv,
    read_csv_table,
)
from rescue_followup.domain.posted_adtte import read_posted_adtte

# --- the former readers (oracle) ---


def _parse_record(
    cells: Mapping[str, str], header: Sequence[str], arms: Sequence[str]
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Typed values of one CSV record and its problems as (column, message)."""
    problems: list[tuple[str, str]] = []
    values: dict[str, object] = {}

    def cell(column: str) -> str | None:
        return cells.get(column, "") if column in header else None

    usubjid = cell("USUBJID")
    if usubjid == "":
        problems.append(("USUBJID", "must not be empty"))
    values["usubjid"] = usubjid
    arm = cell("ARM")
    if arm is not None and arm not in arms:
        problems.append(("ARM", f"{arm!r} is not one of {tuple(arms)}"))
    values["arm"] = arm
    paramcd = cell("PARAMCD")
    if paramcd is not None and paramcd != PARAMCD_PFS:
        problems.append(("PARAMCD", f"must be {PARAMCD_PFS!r} (got {paramcd!r})"))

    for column in ("STARTDT", "ADT"):
        raw = cell(column)
        values[column.lower()] = None
        if raw is not None:
            try:
                values[column.lower()] = dt.date.fromisoformat(raw)
            except ValueError:
                problems.append((column, f"not an ISO date YYYY-MM-DD (got {raw!r})"))

    aval: int | None = None
    raw = cell("AVAL")
    if raw is not None:
        try:
            number = float(raw)
            if not number.is_integer():
                raise ValueError(raw)
            aval = int(number)
        except ValueError:
            problems.append(("AVAL", f"not a whole number of days (got {raw!r})"))
        else:
            if aval < 0:
                problems.append(("AVAL", f"must not be negative (got {aval})"))
    values["aval"] = aval
    cnsr: int | None = None
    raw = cell("CNSR")
    if raw is not None:
        if raw in ("0", "1"):
            cnsr = int(raw)
        else:
            problems.append(("CNSR", f"must be 0 (event) or 1 (censored) (got {raw!r})"))
    values["cnsr"] = cnsr
    invalfl = cell("INVALFL") or "N"
    if invalfl not in ("Y", "N"):
        problems.append(("INVALFL", f"must be Y or N (got {invalfl!r})"))
    values["invalidated"] = invalfl == "Y"

    values["evntdesc"] = evntdesc = cell("EVNTDESC") or ""
    values["cnsdtdsc"] = cnsdtdsc = cell("CNSDTDSC") or ""
    values["strata"] = cell("STRATA") or ""
    problems.extend(
        _consistency_problems(
            values["startdt"],  # type: ignore[arg-type]
            values["adt"],  # type: ignore[arg-type]
            aval,
            cnsr,
            evntdesc,
            cnsdtdsc,
        )
    )
    return values, problems


def legacy_read_adtte_csv(text: str, *, arms: Sequence[str] = ARMS) -> list[AdtteRow]:
    """Parse and validate ADTTE CSV text; raises AdtteValidationError listing all problems.

    Checks: required columns, dates, AVAL (whole, >= 0, = ADT - STARTDT + 1), ADT not before
    STARTDT, CNSR in {0, 1}, EVNTDESC/CNSDTDSC matching CNSR, known ARM, unique USUBJID, and that
    no arm of `arms` is empty. Extra columns are ignored.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    issues = [
        AdtteIssue(row=1, column=column, message="required column is missing")
        for column in COLUMNS
        if column not in header and column not in OPTIONAL_COLUMNS
    ]
    rows: list[AdtteRow] = []
    first_seen: dict[str, int] = {}
    arm_counts = dict.fromkeys(arms, 0)
    for record in reader:
        line = reader.line_num
        cells = {k: (v or "").strip() for k, v in record.items() if k}
        values, problems = _parse_record(cells, header, arms)
        usubjid, arm = values["usubjid"], values["arm"]
        if isinstance(usubjid, str) and usubjid:
            if usubjid in first_seen:
                problems.append(("USUBJID", f"duplicate of row {first_seen[usubjid]}"))
            else:
                first_seen[usubjid] = line
        if isinstance(arm, str) and arm in arm_counts:
            arm_counts[arm] += 1
        issues.extend(AdtteIssue(row=line, column=c, message=m) for c, m in problems)
        if not issues:
            rows.append(AdtteRow.model_validate(values))
    issues.extend(
        AdtteIssue(row=None, column="ARM", message=f"arm {name} has no rows")
        for name, count in arm_counts.items()
        if count == 0
    )
    if issues:
        raise AdtteValidationError(issues)
    return rows


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


def legacy_read_posted_adtte(text: str) -> list[AdtteRow]:
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
        rows = legacy_read_adtte_csv(out.getvalue())
    except AdtteValidationError as exc:
        issues.extend(
            AdtteIssue(row=line_of.get(i.row, i.row) if i.row is not None else None,
                       column=i.column, message=i.message)
            for i in exc.issues)
        rows = []
    if issues:
        raise AdtteValidationError(sorted(issues, key=lambda i: (i.row is None, i.row or 0)))
    return sorted(rows, key=lambda r: r.usubjid)


# --- random data sets with defects ---

START = dt.date(2024, 1, 1)


def good_row(i: int, rng: random.Random) -> dict[str, str]:
    days = rng.randint(1, 900)
    cnsr = rng.choice("01")
    return {
        "USUBJID": f"S{i:04d}", "ARM": rng.choice(ARMS), "STRATA": rng.choice(["a", "b", ""]),
        "PARAMCD": "PFS", "STARTDT": START.isoformat(),
        "ADT": (START + dt.timedelta(days=days - 1)).isoformat(), "AVAL": str(days),
        "CNSR": cnsr, "EVNTDESC": "Death" if cnsr == "0" else "",
        "CNSDTDSC": "Randomization" if cnsr == "1" else "", "INVALFL": rng.choice("NY"),
    }


DEFECTS = {
    "USUBJID": ["", "S0001", "S0002", " S0003 "],
    "ARM": ["SURGERY", "", "chemo", " CHEMO "],
    "PARAMCD": ["OS", "", "pfs"],
    "STARTDT": ["2024-13-01", "01/01/2024", "", "20240101", "2023-12-31", "2024-02-30"],
    "ADT": ["2023-12-01", "x", "", "2024-01-01", "2025-W01-1"],
    "AVAL": ["1.5", "x", "-3", "", " 7 ", "1e1", "0", "nan", "inf", "1e400", "10.0", "-0"],
    "CNSR": ["2", "", "0.0", " 1", "yes"],
    "EVNTDESC": ["Death", "Disease Progression", "other", ""],
    "CNSDTDSC": ["Randomization", "Last Tumor Assessment", "other", ""],
    "INVALFL": ["", "y", "X", "Y"],
    "STRATA": ['a,"b"', "multi\nline"],
}


def defective_csv(seed: int, n: int, columns: Sequence[str], *, clean: bool = False) -> str:
    """Random rows, some with defects (none when `clean`: then only blank lines and quoting)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=rng.choice(["\n", "\r\n"]))
    header = list(columns)
    if rng.random() < 0.3 and not clean:
        header[rng.randrange(len(header))] = " " + header[rng.randrange(len(header))] + " "
    writer.writerow(header)
    for i in range(n):
        row = good_row(i, rng)
        for column in rng.sample(list(DEFECTS), k=rng.choice([0, 0, 0, 1, 1, 2, 3])):
            row[column] = rng.choice(DEFECTS[column])
        if clean:
            row = good_row(i, rng) | {"ARM": ARMS[i % 2],
                                      "STRATA": rng.choice([*DEFECTS["STRATA"], "a", ""])}
        cells = [row.get(c.strip(), "extra") for c in header]
        if clean:
            pass
        elif rng.random() < 0.05:
            cells = cells[: rng.randrange(len(cells))] or [""]
        elif rng.random() < 0.05:
            cells = [*cells, "surplus"]
        writer.writerow(cells)
        if rng.random() < 0.05:
            out.write("\n")  # a blank line
    return out.getvalue()


def column_sets(rng: random.Random) -> list[str]:
    columns = list(COLUMNS)
    roll = rng.random()
    if roll < 0.2:
        columns.remove(rng.choice(columns))
    elif roll < 0.3:
        columns.append("EXTRA")
    elif roll < 0.4:
        columns.remove("INVALFL")
    rng.shuffle(columns)
    return columns


def outcome(read, text: str) -> tuple[str, object]:
    try:
        return "rows", read(text)
    except AdtteValidationError as exc:
        return "issues", [(i.row, i.column, i.message) for i in exc.issues]


@pytest.mark.parametrize("seed", range(60))
def test_domain_reader_reports_what_the_row_by_row_reader_did(seed: int) -> None:
    rng = random.Random(seed)
    clean = seed % 4 == 0
    columns = list(COLUMNS) if clean else column_sets(rng)
    text = defective_csv(seed, rng.choice([3, 20, 60]), columns, clean=clean)
    assert outcome(read_adtte_csv, text) == outcome(legacy_read_adtte_csv, text)
    assert not clean or outcome(read_adtte_csv, text)[0] == "rows"


MINIMAL = ["USUBJID", "ARM", "STARTDT", "ADT", "AVAL", "CNSR"]


@pytest.mark.parametrize("seed", range(60))
def test_posted_reader_reports_what_the_former_posted_reader_did(seed: int) -> None:
    rng = random.Random(1000 + seed)
    columns = MINIMAL + rng.sample(["STRATA", "PARAMCD", "EVNTDESC", "CNSDTDSC", "INVALFL"],
                                   k=rng.randrange(6))
    clean = seed % 4 == 0
    if rng.random() < 0.2 and not clean:
        columns.remove(rng.choice(columns))
    rng.shuffle(columns)
    text = defective_csv(seed, rng.choice([3, 20, 60]), columns, clean=clean)

    def same_duplicates(result: tuple[str, object]) -> tuple[str, object]:
        if result[0] == "rows":
            return result
        return result[0], [(r, c, re.sub(r"duplicate of row \d+", "duplicate of row #", m))
                           for r, c, m in result[1]]

    new, old = outcome(read_posted_adtte, text), outcome(legacy_read_posted_adtte, text)
    assert same_duplicates(new) == same_duplicates(old)
    assert not clean or new[0] == "rows"


def test_posted_duplicates_name_the_line_as_posted() -> None:
    text = ("USUBJID,ARM,STARTDT,ADT,AVAL,CNSR\n\n\n"
            "A,CHEMO,2024-01-01,2024-01-10,10,0\n"
            "A,SCS_CHEMO,2024-01-01,2024-01-10,10,0\n")
    with pytest.raises(AdtteValidationError) as caught:
        read_posted_adtte(text)
    assert [(i.row, i.column, i.message) for i in caught.value.issues] == [
        (5, "USUBJID", "duplicate of row 4")]


def test_empty_and_header_only_texts() -> None:
    for text in ("", "USUBJID,ARM,STARTDT,ADT,CNSR\n", "\n\nA,B\n"):
        assert outcome(read_posted_adtte, text) == outcome(legacy_read_posted_adtte, text)
        assert outcome(read_adtte_csv, text) == outcome(legacy_read_adtte_csv, text)


@pytest.mark.parametrize("text", [
    "A,B\n1,2\n", "A,B\r\n1,2\r\n\r\n3,4", "A,B\n\n \n1,2,\n,\n", "\nA,B\n1,2\n", "A\n",
    "A,B\n1\n1,2,3\n", " A , B \n x , y \n",
])
def test_unquoted_text_is_split_as_the_csv_module_splits_it(text: str) -> None:
    fast, slow = read_csv_table(text), _csv_module_table(text)
    assert (fast.header, fast.header_line) == (slow.header, slow.header_line)
    assert fast.lines.tolist() == slow.lines.tolist()
    assert fast.widths.tolist() == slow.widths.tolist()
    assert [c.tolist() for c in fast.columns] == [c.tolist() for c in slow.columns]
