"""The primary PFS analysis: live (from follow-up's records) or of a posted ADTTE data set.

The live path builds ADTTE rows from the records (docs/protocol/data-standards.md § CDISC ADaM
ADTTE); the posted path reads the CSV column-wise into the same ADaM columns, in the same USUBJID
order, and both call the same domain functions, so an exported data set posted back gives the very
same answer and figure (docs/statistics.md). Reading ends the transaction before computing, and
parsing, statistics and figures run in a worker thread (the event loop, the consumer's heartbeat
and the SQLite write lock stay free; docs/reliability.md § The guarantees).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Literal

from rescue_followup.domain.adtte import AdtteRow, AdtteValidationError
from rescue_followup.domain.analysis import PfsAnalysis, Population, Records, analyse_pfs
from rescue_followup.domain.analysis_strata import with_analysis_strata
from rescue_followup.domain.posted_adtte import read_posted_adtte_frame
from rescue_followup.domain.protocol import StrataChoice
from rescue_followup.domain.records import adtte_rows
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.audit.trail import Caller, export_draft
from rescue_shared.errors import Invalid

FigureFormat = Literal["png", "svg"]
# Draws the KM figure of the rows for a population, as PNG or SVG (`adapters/figures.py`).
KmDrawer = Callable[[Records, Population, FigureFormat], bytes]


def strata_in_force(uow: FollowupUnitOfWork, strata: StrataChoice | None) -> StrataChoice:
    """The strata asked for, or the protocol's default (the version in force)."""
    return strata or uow.protocols.load(uow.protocol_version).analysis.strata_default


async def adtte_export(
    uow: FollowupUnitOfWork, cutoff: dt.date | None = None, strata: StrataChoice = "randomized",
) -> list[AdtteRow]:
    """One ADTTE PFS row per subject randomized by the cut-off, in USUBJID order (INVALFL flags
    allocations invalidated by then; STRATA as randomized or as verified by then)."""
    subjects = await uow.subjects.all()
    records = await uow.records.by_subject()
    await uow.rollback()  # read done: computing holds no transaction
    return await asyncio.to_thread(adtte_rows, with_analysis_strata(subjects, strata, cutoff),
                                   records, uow.protocols.load, cutoff)


async def download_adtte(uow: FollowupUnitOfWork, caller: Caller,
                        cutoff: dt.date | None = None,
                        strata: StrataChoice = "randomized") -> list[AdtteRow]:
    """The ADTTE data set as a download: the export is audited (`export.downloaded`)."""
    rows = await adtte_export(uow, cutoff, strata)
    uow.audit.record(export_draft(caller, "adtte.csv", rows=len(rows), cutoff=cutoff,
                                  strata=strata))
    await uow.commit()
    return rows


async def read_posted_adtte(body: bytes) -> Records:
    """The posted ADTTE CSV as a validated column-wise frame (no per-row objects); Invalid
    listing every problem with its line and column. Its size is capped before it is read, by
    MAX_BULK_REQUEST_BODY_BYTES (rescue_shared.http.guards)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the CSV is not UTF-8 text: {exc}", title="Invalid ADTTE data",
                      errors=[{"field": "body", "rule": "encoding", "message": str(exc)}]
                      ) from exc
    try:
        return await asyncio.to_thread(read_posted_adtte_frame, text)
    except AdtteValidationError as exc:
        shown = "; ".join(str(i) for i in exc.issues[:10])
        more = f" (and {len(exc.issues) - 10} more)" if len(exc.issues) > 10 else ""
        raise Invalid(
            f"{len(exc.issues)} problem(s): {shown}{more}", title="Invalid ADTTE data",
            errors=[{"field": i.column, "row": i.row, "column": i.column, "rule": "adtte",
                     "message": i.message} for i in exc.issues],
        ) from exc


async def pfs_analysis(rows: Records, population: Population) -> PfsAnalysis:
    """KM by arm, medians, landmarks, log-rank plain and stratified, Cox HR, numbers at risk;
    Invalid ("Analysis not possible") when the data allow no analysis."""
    try:
        return await asyncio.to_thread(analyse_pfs, rows, population=population)
    except ValueError as exc:
        raise Invalid(str(exc), title="Analysis not possible") from exc


async def km_figure(
    rows: Records, population: Population, fmt: FigureFormat, draw: KmDrawer
) -> bytes:
    """The Kaplan-Meier figure by arm; Invalid ("Analysis not possible") as the analysis."""
    try:
        return await asyncio.to_thread(draw, rows, population, fmt)
    except ValueError as exc:
        raise Invalid(str(exc), title="Analysis not possible") from exc
