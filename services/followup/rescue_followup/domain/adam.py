"""ADaM datasets for submission: ADSL (one row per randomized subject) and ADTTE (PFS), with the
variable metadata every export format shares (XPT labels, Dataset-JSON columns, Define-XML).

Names follow SAS transport v5 limits (8 characters, labels of at most 40), so the same metadata
serves all three formats. Dates are calendar dates here; each format writes them its own way
(XPT: SAS day numbers with DATE9., Dataset-JSON: ISO 8601 strings).

Strata: STRATAR is the stratum as randomized (what the allocation used, never changed); STRATAV is
the stratum as verified against source data (CDISC ADaMIG's paired variables). Until a stratum
is verified, STRATAV equals STRATAR.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from rescue_followup.domain.adtte import AdtteRow
from rescue_followup.domain.records import strata_label

STUDYID: Final = "RESCUE"
ADAMIG_VERSION: Final = "1.3"

DataType = Literal["text", "integer", "date"]
Origin = Literal["Assigned", "Derived", "Predecessor"]
Value = str | int | dt.date | None


@dataclass(frozen=True)
class Variable:
    """One dataset variable: its SAS name, label, type, length (text) and where it comes from."""

    name: str
    label: str
    data_type: DataType
    origin: Origin
    length: int = 8
    codelist: tuple[str, ...] = ()
    key: int | None = None  # position in the dataset's sort key, 1-based

    def __post_init__(self) -> None:
        if len(self.name) > 8 or not self.name.isupper():
            raise ValueError(f"{self.name}: XPT v5 names are upper case, at most 8 characters")
        if len(self.label) > 40:
            raise ValueError(f"{self.name}: XPT v5 labels have at most 40 characters")

    @property
    def display_format(self) -> str | None:
        return "DATE9." if self.data_type == "date" else None


@dataclass(frozen=True)
class Dataset:
    """A dataset's name, label, structure, ADaM class and variables in column order."""

    name: str
    label: str
    structure: str
    adam_class: str
    variables: tuple[Variable, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)


YN: Final = ("Y", "N")
ARMS: Final = ("SCS_CHEMO", "CHEMO")

_STUDY = Variable("STUDYID", "Study Identifier", "text", "Assigned", 6, key=1)
_USUBJ = Variable("USUBJID", "Unique Subject Identifier", "text", "Predecessor", 40, key=2)

ADSL: Final = Dataset(
    name="ADSL",
    label="Subject-Level Analysis Dataset",
    structure="One record per subject",
    adam_class="SUBJECT LEVEL ANALYSIS DATASET",
    variables=(
        _STUDY,
        _USUBJ,
        Variable("SUBJID", "Subject Identifier for the Study", "text", "Predecessor", 40),
        Variable("SITEID", "Study Site Identifier", "text", "Predecessor", 20),
        Variable("RANDNO", "Randomization Number", "text", "Predecessor", 20),
        Variable("ARMCD", "Planned Arm Code", "text", "Predecessor", 20, ARMS),
        Variable("ARM", "Description of Planned Arm", "text", "Predecessor", 60),
        Variable("TRT01P", "Planned Treatment for Period 01", "text", "Derived", 60),
        Variable("RANDDT", "Date of Randomization", "date", "Predecessor"),
        Variable("STRATAR", "Strata as Randomized", "text", "Predecessor", 200),
        Variable("STRATAV", "Strata as Verified", "text", "Derived", 200),
        Variable("PROTVER", "Protocol Version at Randomization", "text", "Predecessor", 20),
        Variable("RANDFL", "Randomized Population Flag", "text", "Derived", 1, YN),
        Variable("ITTFL", "Intent-To-Treat Population Flag", "text", "Derived", 1, YN),
        Variable("INVALFL", "Randomization Invalidated Flag", "text", "Derived", 1, YN),
        Variable("SENSFL", "Excl. Invalidated Population Flag", "text", "Derived", 1, YN),
    ),
)

ADTTE: Final = Dataset(
    name="ADTTE",
    label="Time-to-Event Analysis Dataset",
    structure="One record per subject per parameter",
    adam_class="BASIC DATA STRUCTURE",
    variables=(
        _STUDY,
        _USUBJ,
        Variable("PARAMCD", "Parameter Code", "text", "Assigned", 8, ("PFS",), key=3),
        Variable("PARAM", "Parameter", "text", "Assigned", 40),
        Variable("ARM", "Description of Planned Arm", "text", "Predecessor", 60, ARMS),
        Variable("STRATA", "Strata Used in the Analysis", "text", "Derived", 200),
        Variable("STRATAR", "Strata as Randomized", "text", "Predecessor", 200),
        Variable("STRATAV", "Strata as Verified", "text", "Predecessor", 200),
        Variable("STARTDT", "Time-to-Event Origin Date for Subject", "date", "Derived"),
        Variable("ADT", "Analysis Date", "date", "Derived"),
        Variable("AVAL", "Analysis Value", "integer", "Derived"),
        Variable("CNSR", "Censor", "integer", "Derived", codelist=("0", "1")),
        Variable("EVNTDESC", "Event or Censoring Description", "text", "Derived", 40),
        Variable("CNSDTDSC", "Censor Date Description", "text", "Derived", 40),
        Variable("ITTFL", "Intent-To-Treat Population Flag", "text", "Predecessor", 1, YN),
        Variable("INVALFL", "Randomization Invalidated Flag", "text", "Predecessor", 1, YN),
    ),
)

DATASETS: Final = (ADSL, ADTTE)
PARAM_PFS: Final = "Progression-Free Survival (days)"


@dataclass(frozen=True)
class AdslSubject:
    """What ADSL needs of a randomized subject (followup's registration of the allocation)."""

    subject_id: str
    site_id: str
    randomization_number: str
    arm: str
    stratum: Mapping[str, str]
    randomization_date: dt.date
    protocol_version: str
    invalidated: bool
    verified_stratum: Mapping[str, str] | None = None


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def adsl_rows(subjects: Iterable[AdslSubject]) -> list[dict[str, Value]]:
    """One ADSL row per randomized subject, by USUBJID."""
    rows: list[dict[str, Value]] = []
    for s in sorted(subjects, key=lambda s: s.subject_id):
        randomized = strata_label(s.stratum)
        verified = randomized if s.verified_stratum is None else strata_label(
            {**s.stratum, **s.verified_stratum})
        rows.append({
            "STUDYID": STUDYID, "USUBJID": s.subject_id, "SUBJID": s.subject_id,
            "SITEID": s.site_id, "RANDNO": s.randomization_number, "ARMCD": s.arm,
            "ARM": s.arm, "TRT01P": s.arm, "RANDDT": s.randomization_date,
            "STRATAR": randomized, "STRATAV": verified, "PROTVER": s.protocol_version,
            "RANDFL": "Y", "ITTFL": "Y", "INVALFL": _yn(s.invalidated),
            "SENSFL": _yn(not s.invalidated),
        })
    return rows


def adtte_dataset_rows(
    rows: Iterable[AdtteRow], adsl: Sequence[Mapping[str, Value]]
) -> list[dict[str, Value]]:
    """ADTTE rows with the subject-level strata of ADSL beside the analysis's own STRATA."""
    by_subject = {r["USUBJID"]: r for r in adsl}
    out: list[dict[str, Value]] = []
    for r in rows:
        subject = by_subject.get(r.usubjid, {})
        out.append({
            "STUDYID": STUDYID, "USUBJID": r.usubjid, "PARAMCD": r.paramcd, "PARAM": PARAM_PFS,
            "ARM": r.arm, "STRATA": r.strata,
            "STRATAR": subject.get("STRATAR", r.strata),
            "STRATAV": subject.get("STRATAV", r.strata),
            "STARTDT": r.startdt, "ADT": r.adt, "AVAL": r.aval, "CNSR": r.cnsr,
            "EVNTDESC": r.evntdesc, "CNSDTDSC": r.cnsdtdsc, "ITTFL": "Y",
            "INVALFL": _yn(r.invalidated),
        })
    return out
