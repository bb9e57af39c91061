"""ADaM ADTTE rows for PFS, and their CSV text form with validation that reports every problem.

Columns: USUBJID, ARM, STRATA, PARAMCD ("PFS"), STARTDT (randomization), ADT (event/censoring),
AVAL (ADT - STARTDT + 1 days), CNSR (0 event, 1 censored), EVNTDESC, CNSDTDSC, INVALFL.
INVALFL ("Y"/"N", optional on read, default "N") flags a randomization marked made in error, so
that the "excluding_invalidated" population is a plain filter. Dates are ISO 8601 (YYYY-MM-DD).
Errors name the CSV line (header = row 1, as a spreadsheet shows it) and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rescue_followup.domain.pfs import CensorDateSource, PfsEventType, PfsResult, pfs_days

PARAMCD_PFS = "PFS"
EXPERIMENTAL_ARM = "SCS_CHEMO"
CONTROL_ARM = "CHEMO"
ARMS: tuple[str, ...] = (EXPERIMENTAL_ARM, CONTROL_ARM)

EVNTDESC_PROGRESSION = "Disease Progression"
EVNTDESC_DEATH = "Death"
CNSDTDSC_LAST_ASSESSMENT = "Last Tumor Assessment"
CNSDTDSC_RANDOMIZATION = "Randomization"
EVNTDESC_VALUES = (EVNTDESC_PROGRESSION, EVNTDESC_DEATH)
CNSDTDSC_VALUES = (CNSDTDSC_LAST_ASSESSMENT, CNSDTDSC_RANDOMIZATION)

COLUMNS: tuple[str, ...] = (
    "USUBJID",
    "ARM",
    "STRATA",
    "PARAMCD",
    "STARTDT",
    "ADT",
    "AVAL",
    "CNSR",
    "EVNTDESC",
    "CNSDTDSC",
    "INVALFL",
)
OPTIONAL_COLUMNS = frozenset({"INVALFL"})


def _consistency_problems(
    startdt: dt.date | None,
    adt: dt.date | None,
    aval: int | None,
    cnsr: int | None,
    evntdesc: str,
    cnsdtdsc: str,
) -> list[tuple[str, str]]:
    """Cross-field rules shared by the model and the CSV reader, as (column, message)."""
    problems: list[tuple[str, str]] = []
    if startdt is not None and adt is not None:
        if adt < startdt:
            problems.append(("ADT", f"ADT {adt} is before STARTDT {startdt}"))
        elif aval is not None and aval >= 0 and aval != pfs_days(startdt, adt):
            problems.append(
                ("AVAL", f"AVAL {aval} must equal ADT - STARTDT + 1 = {pfs_days(startdt, adt)}")
            )
    if cnsr == 0:
        if evntdesc not in EVNTDESC_VALUES:
            problems.append(("EVNTDESC", f"an event (CNSR 0) needs EVNTDESC in {EVNTDESC_VALUES}"))
        if cnsdtdsc:
            problems.append(("CNSDTDSC", "must be empty for an event (CNSR 0)"))
    elif cnsr == 1:
        if cnsdtdsc not in CNSDTDSC_VALUES:
            problems.append(
                ("CNSDTDSC", f"a censored row (CNSR 1) needs CNSDTDSC in {CNSDTDSC_VALUES}")
            )
        if evntdesc:
            problems.append(("EVNTDESC", "must be empty for a censored row (CNSR 1)"))
    return problems


class AdtteRow(BaseModel):
    """One subject's PFS record in ADaM ADTTE form (lower-case names; CSV uses upper case)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usubjid: str = Field(min_length=1)
    arm: str = Field(min_length=1)
    strata: str = ""
    paramcd: Literal["PFS"] = PARAMCD_PFS
    startdt: dt.date
    adt: dt.date
    aval: int = Field(ge=1)
    cnsr: Literal[0, 1]
    evntdesc: str = ""
    cnsdtdsc: str = ""
    invalidated: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> AdtteRow:
        problems = _consistency_problems(
            self.startdt, self.adt, self.aval, self.cnsr, self.evntdesc, self.cnsdtdsc
        )
        if problems:
            raise ValueError("; ".join(f"{col}: {msg}" for col, msg in problems))
        return self


def build_adtte_row(
    usubjid: str, arm: str, strata: str, pfs: PfsResult, *, invalidated: bool = False
) -> AdtteRow:
    """Map a derived PFS result onto the ADTTE vocabulary."""
    if pfs.event:
        evntdesc = EVNTDESC_DEATH if pfs.event_type is PfsEventType.DEATH else EVNTDESC_PROGRESSION
        cnsdtdsc = ""
    else:
        evntdesc = ""
        cnsdtdsc = (
            CNSDTDSC_RANDOMIZATION
            if pfs.censor_date_source is CensorDateSource.RANDOMIZATION
            else CNSDTDSC_LAST_ASSESSMENT
        )
    return AdtteRow(
        usubjid=usubjid,
        arm=arm,
        strata=strata,
        startdt=pfs.start_date,
        adt=pfs.end_date,
        aval=pfs.days,
        cnsr=0 if pfs.event else 1,
        evntdesc=evntdesc,
        cnsdtdsc=cnsdtdsc,
        invalidated=invalidated,
    )


def write_adtte_csv(rows: Iterable[AdtteRow]) -> str:
    """CSV text with a header, in `COLUMNS` order ("\\n" line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.usubjid,
                r.arm,
                r.strata,
                r.paramcd,
                r.startdt.isoformat(),
                r.adt.isoformat(),
                r.aval,
                r.cnsr,
                r.evntdesc,
                r.cnsdtdsc,
                "Y" if r.invalidated else "N",
            ]
        )
    return out.getvalue()


class AdtteIssue(BaseModel):
    """One problem found in ADTTE CSV text; `row` is None for dataset-level problems."""

    model_config = ConfigDict(frozen=True)

    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "dataset"
        return f"{where}, column {self.column}: {self.message}"


class AdtteValidationError(ValueError):
    """Every problem found, so a data manager can fix the file in one pass."""

    def __init__(self, issues: Sequence[AdtteIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__(
            f"{len(self.issues)} ADTTE problem(s):\n" + "\n".join(str(i) for i in self.issues)
        )


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


def read_adtte_csv(text: str, *, arms: Sequence[str] = ARMS) -> list[AdtteRow]:
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
