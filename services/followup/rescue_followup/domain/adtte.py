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
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rescue_followup.domain.pfs import CensorDateSource, PfsEventType, PfsResult, pfs_days

if TYPE_CHECKING:  # pandas loads with the first CSV read, not with the service (~35 MB)
    import pandas as pd

PARAMCD_PFS: Final = "PFS"
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


@dataclass(frozen=True)
class CsvTable:
    """CSV text read column-wise: the stripped header, and for every record after it (blank
    lines skipped, as csv.DictReader does) its CSV line, its number of cells and its stripped
    cells, one object array per header position (a short record gives "", extra cells are
    dropped). A record's line is the one it ends on (header = row 1, as a spreadsheet shows it).
    """

    header: list[str]
    header_line: int
    lines: np.ndarray
    widths: np.ndarray
    columns: list[np.ndarray]

    def cells(self) -> dict[str, np.ndarray]:
        """Columns by name; a name given twice reads its last place, as csv.DictReader does."""
        return {name: self.columns[i] for i, name in enumerate(self.header) if name}


def _strip_all(cells: list[str]) -> np.ndarray:
    return np.array(list(map(str.strip, cells)), dtype=object)


def read_csv_table(text: str) -> CsvTable:
    """Python's csv reading (excel dialect) of `text`, without a list per record when it can.

    Text without quotes, NUL or lone carriage returns is split on line ends and commas directly
    (the csv module would split it the same way): no per-record objects, 10x faster at 100,000
    rows. Anything else goes through csv.reader.
    """
    if text and '"' not in text and "\x00" not in text and (
        "\r" not in text or text.count("\r") == text.count("\r\n")
    ):
        table = _unquoted_table(text.replace("\r\n", "\n"))
        if table is not None:
            return table
    return _csv_module_table(text)


def _unquoted_table(text: str) -> CsvTable | None:
    physical = text.split("\n")
    if physical[-1] == "":
        physical.pop()
    header = [h.strip() for h in physical[0].split(",")] if physical[0] else []
    body = physical[1:]
    if all(body):
        lines = np.arange(2, len(body) + 2, dtype=np.int64)
    else:
        lines = np.flatnonzero(np.fromiter(map(bool, body), dtype=bool, count=len(body))) + 2
        body = [line for line in body if line]
    widths = np.array(list(map(str.count, body, itertools.repeat(","))), dtype=np.int64) + 1
    width = len(header)
    if len(body) and not (widths == width).all():
        return None  # ragged records: the general reader pads and cuts them
    flat = ",".join(body).split(",") if body else []
    columns = [_strip_all(flat[i::width]) for i in range(width)]
    return CsvTable(header, 1 if physical else 0, lines, widths, columns)


def _csv_module_table(text: str) -> CsvTable:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    header_line = reader.line_num
    rest = list(reader)  # blank lines come as []
    if reader.line_num == header_line + len(rest):  # one physical line per record
        numbers: Sequence[int] = range(header_line + 1, header_line + 1 + len(rest))
    else:  # a quoted cell spans lines: read again, noting the line each record ends on
        numbers = _line_numbers(text)
    records = [r for r in rest if r]
    if len(records) == len(rest):
        lines = np.asarray(numbers, dtype=np.int64)
    else:
        lines = np.asarray([n for n, r in zip(numbers, rest, strict=True) if r], dtype=np.int64)
    width = len(header)
    widths = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
    if len(records) and not (widths == width).all():
        records = [(r + [""] * width)[:width] for r in records]
    flat = list(itertools.chain.from_iterable(records))
    columns = [_strip_all(flat[i::width]) for i in range(width)]
    return CsvTable(header, header_line, lines, widths, columns)


def _line_numbers(text: str) -> list[int]:
    """The CSV line at the end of every record after the header (blank ones included)."""
    reader = csv.reader(io.StringIO(text))
    next(reader, None)
    numbers = []
    for _ in reader:
        numbers.append(reader.line_num)
    return numbers


class RowIssues:
    """Problems gathered column-wise, sorted at the end as a row-by-row reader reports them."""

    def __init__(self) -> None:
        self.lines: list[np.ndarray] = []
        self.ranks: list[np.ndarray] = []
        self.columns: list[str] = []
        self.messages: list[list[str]] = []

    def add(self, lines: np.ndarray, rank: int, column: str, messages: list[str]) -> None:
        if len(lines):
            self.lines.append(lines)
            self.ranks.append(np.full(len(lines), rank))
            self.columns.extend([column] * len(lines))
            self.messages.append(messages)

    def where(self, mask: np.ndarray, lines: np.ndarray, rank: int, column: str,
              message: str | Callable[[int], str]) -> None:
        at = np.flatnonzero(mask)
        if at.size:
            texts = ([message] * at.size if isinstance(message, str)
                     else [message(i) for i in at.tolist()])
            self.add(lines[at], rank, column, texts)

    def sorted(self) -> list[AdtteIssue]:
        if not self.lines:
            return []
        lines, ranks = np.concatenate(self.lines), np.concatenate(self.ranks)
        messages = [m for batch in self.messages for m in batch]
        order = np.lexsort((ranks, lines))
        return [AdtteIssue(row=int(lines[i]), column=self.columns[i], message=messages[i])
                for i in order]


def _lookup(values: np.ndarray, parse: Callable[[str], float | None]) -> np.ndarray:
    """`parse` of every value, called once per distinct value; None -> NaN."""
    import pandas as pd

    codes, uniques = pd.factorize(values)
    parsed = np.array([_nan(parse(u)) for u in uniques] + [math.nan], dtype=float)
    result: np.ndarray = parsed[np.asarray(codes)]  # code -1 (never here) reads the NaN
    return result


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _date_ordinal(raw: str) -> float | None:
    try:
        return float(dt.date.fromisoformat(raw).toordinal())
    except ValueError:
        return None


def _whole_days(raw: str) -> float | None:
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if number.is_integer() else None


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

# Rank of each check within a row: the order a row-by-row reader reports them in.
RANK_CELLS, _RANK_USUBJID, _RANK_ARM, _RANK_PARAMCD, _RANK_STARTDT, _RANK_ADT = range(-1, 5)
_RANK_AVAL, _RANK_CNSR, _RANK_INVALFL, _RANK_DATES, _RANK_DESC1, _RANK_DESC2 = range(5, 11)
_RANK_DUPLICATE = 20


def validate_adtte_cells(
    cells: Mapping[str, np.ndarray],
    lines: np.ndarray,
    *,
    header_row: int = 1,
    arms: Sequence[str] = ARMS,
    issues: RowIssues | None = None,
) -> tuple[pd.DataFrame, list[AdtteIssue]]:
    """Typed ADTTE frame of stripped cells (absent columns missing from `cells`), and problems.

    Column-wise checks, the same as `AdtteRow` and in the order a row-by-row reader gives them:
    required columns, dates, AVAL (whole, >= 0, = ADT - STARTDT + 1), ADT not before STARTDT,
    CNSR in {0, 1}, EVNTDESC/CNSDTDSC matching CNSR, known ARM, unique USUBJID, and that no arm
    of `arms` is empty. The frame (ADaM column names, AVAL/CNSR int, dates datetime64[D],
    INVALFL Y/N) is only meaningful when there is no problem.
    """
    import pandas as pd

    found = issues if issues is not None else RowIssues()
    header_issues = [
        AdtteIssue(row=header_row, column=column, message="required column is missing")
        for column in COLUMNS
        if column not in cells and column not in OPTIONAL_COLUMNS
    ]
    n = len(lines)
    blank = np.full(n, "", dtype=object)

    def column(name: str) -> np.ndarray | None:
        return cells.get(name)

    usubjid, arm, paramcd = column("USUBJID"), column("ARM"), column("PARAMCD")
    if usubjid is not None:
        found.where(usubjid == "", lines, _RANK_USUBJID, "USUBJID", "must not be empty")
    if arm is not None:
        unknown = ~pd.Series(arm).isin(list(arms)).to_numpy()
        found.where(unknown, lines, _RANK_ARM, "ARM",
                    lambda i: f"{arm[i]!r} is not one of {tuple(arms)}")
    if paramcd is not None:
        found.where(paramcd != PARAMCD_PFS, lines, _RANK_PARAMCD, "PARAMCD",
                    lambda i: f"must be {PARAMCD_PFS!r} (got {paramcd[i]!r})")
    ordinals: dict[str, np.ndarray] = {}
    for name, rank in (("STARTDT", _RANK_STARTDT), ("ADT", _RANK_ADT)):
        raw = column(name)
        if raw is None:
            ordinals[name] = np.full(n, math.nan)
            continue
        ordinals[name] = values = _lookup(raw, _date_ordinal)
        found.where(np.isnan(values), lines, rank, name,
                    _quoting("not an ISO date YYYY-MM-DD", raw))
    raw_aval = column("AVAL")
    if raw_aval is None:
        aval = np.full(n, math.nan)
    else:
        aval = _lookup(raw_aval, _whole_days)
        found.where(np.isnan(aval), lines, _RANK_AVAL, "AVAL",
                    lambda i: f"not a whole number of days (got {raw_aval[i]!r})")
        found.where(aval < 0, lines, _RANK_AVAL, "AVAL",
                    lambda i: f"must not be negative (got {int(aval[i])})")
    raw_cnsr = column("CNSR")
    if raw_cnsr is None:
        cnsr = np.full(n, -1)
    else:
        cnsr = np.where(raw_cnsr == "0", 0, np.where(raw_cnsr == "1", 1, -1))
        found.where(cnsr < 0, lines, _RANK_CNSR, "CNSR",
                    lambda i: f"must be 0 (event) or 1 (censored) (got {raw_cnsr[i]!r})")
    invalfl = column("INVALFL")
    invalfl = blank if invalfl is None else invalfl
    invalfl = np.where(invalfl == "", "N", invalfl).astype(object)
    found.where((invalfl != "Y") & (invalfl != "N"), lines, _RANK_INVALFL, "INVALFL",
                lambda i: f"must be Y or N (got {invalfl[i]!r})")

    start, end = ordinals["STARTDT"], ordinals["ADT"]
    dated = ~np.isnan(start) & ~np.isnan(end)
    with np.errstate(invalid="ignore"):
        before = dated & (end < start)
        days = end - start + 1
        wrong_aval = dated & ~before & ~np.isnan(aval) & (aval >= 0) & (aval != days)
    found.where(before, lines, _RANK_DATES, "ADT",
                lambda i: f"ADT {_iso(end[i])} is before STARTDT {_iso(start[i])}")
    found.where(wrong_aval, lines, _RANK_DATES, "AVAL",
                lambda i: f"AVAL {int(aval[i])} must equal ADT - STARTDT + 1 = {int(days[i])}")
    evntdesc = column("EVNTDESC")
    evntdesc = blank if evntdesc is None else evntdesc
    cnsdtdsc = column("CNSDTDSC")
    cnsdtdsc = blank if cnsdtdsc is None else cnsdtdsc
    event, censored = cnsr == 0, cnsr == 1
    found.where(event & ~pd.Series(evntdesc).isin(EVNTDESC_VALUES).to_numpy(), lines,
                _RANK_DESC1, "EVNTDESC", f"an event (CNSR 0) needs EVNTDESC in {EVNTDESC_VALUES}")
    found.where(event & (cnsdtdsc != ""), lines, _RANK_DESC2, "CNSDTDSC",
                "must be empty for an event (CNSR 0)")
    found.where(censored & ~pd.Series(cnsdtdsc).isin(CNSDTDSC_VALUES).to_numpy(), lines,
                _RANK_DESC1, "CNSDTDSC",
                f"a censored row (CNSR 1) needs CNSDTDSC in {CNSDTDSC_VALUES}")
    found.where(censored & (evntdesc != ""), lines, _RANK_DESC2, "EVNTDESC",
                "must be empty for a censored row (CNSR 1)")
    if usubjid is not None:
        ids = pd.Series(usubjid)
        repeated = (ids.duplicated(keep="first") & (ids != "")).to_numpy()
        if repeated.any():
            first_line = pd.Series(lines).groupby(ids.to_numpy()).transform("first").to_numpy()
            found.where(repeated, lines, _RANK_DUPLICATE, "USUBJID",
                        lambda i: f"duplicate of row {first_line[i]}")
    present_arms = set(pd.unique(arm)) if arm is not None else set()
    dataset_issues = [
        AdtteIssue(row=None, column="ARM", message=f"arm {name} has no rows")
        for name in dict.fromkeys(arms)
        if name not in present_arms
    ]
    strata = column("STRATA")
    frame = pd.DataFrame({
        "USUBJID": usubjid if usubjid is not None else blank,
        "ARM": arm if arm is not None else blank,
        "STRATA": strata if strata is not None else blank,
        "PARAMCD": paramcd if paramcd is not None else np.full(n, PARAMCD_PFS, dtype=object),
        "STARTDT": _dates(start),
        "ADT": _dates(end),
        "AVAL": np.where(np.abs(aval) < 2**53, aval, -1).astype(np.int64),
        "CNSR": cnsr.astype(np.int64),
        "EVNTDESC": evntdesc,
        "CNSDTDSC": cnsdtdsc,
        "INVALFL": invalfl,
    })
    return frame, header_issues + found.sorted() + dataset_issues


def _quoting(text: str, raw: np.ndarray) -> Callable[[int], str]:
    return lambda i: f"{text} (got {raw[i]!r})"


def _iso(ordinal: float) -> str:
    return dt.date.fromordinal(int(ordinal)).isoformat()


def _dates(ordinals: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        days = np.where(np.isnan(ordinals), 0, ordinals - _EPOCH_ORDINAL).astype(np.int64)
    return days.astype("datetime64[D]")


def read_adtte_frame(text: str, *, arms: Sequence[str] = ARMS) -> pd.DataFrame:
    """Parse and validate ADTTE CSV text column-wise; AdtteValidationError lists all problems.

    The checks of `validate_adtte_cells`; extra columns are ignored. Rows in file order.
    """
    table = read_csv_table(text)
    frame, issues = validate_adtte_cells(table.cells(), table.lines, arms=arms)
    if issues:
        raise AdtteValidationError(issues)
    return frame


def rows_from_frame(frame: pd.DataFrame) -> list[AdtteRow]:
    """AdtteRow objects of a validated ADTTE frame (ADaM column names)."""
    return [
        AdtteRow(
            usubjid=r.USUBJID,
            arm=r.ARM,
            strata=r.STRATA,
            paramcd=r.PARAMCD,
            startdt=r.STARTDT.date(),
            adt=r.ADT.date(),
            aval=int(r.AVAL),
            cnsr=1 if r.CNSR == 1 else 0,
            evntdesc=r.EVNTDESC,
            cnsdtdsc=r.CNSDTDSC,
            invalidated=r.INVALFL == "Y",
        )
        for r in frame.itertuples(index=False)
    ]


def read_adtte_csv(text: str, *, arms: Sequence[str] = ARMS) -> list[AdtteRow]:
    """Parse and validate ADTTE CSV text; raises AdtteValidationError listing all problems.

    Checks: required columns, dates, AVAL (whole, >= 0, = ADT - STARTDT + 1), ADT not before
    STARTDT, CNSR in {0, 1}, EVNTDESC/CNSDTDSC matching CNSR, known ARM, unique USUBJID, and that
    no arm of `arms` is empty. Extra columns are ignored.
    """
    return rows_from_frame(read_adtte_frame(text, arms=arms))
