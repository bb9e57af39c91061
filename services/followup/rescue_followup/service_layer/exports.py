"""ADaM datasets (ADSL, ADTTE) for export, from follow-up's records as known at a cut-off.

The rows come from the same derivation as the live analysis and the ADTTE CSV
(`service_layer/analysis.py`), so every export format carries the very same values; the formats
themselves (XPT, Dataset-JSON, Define-XML) are written by adapters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rescue_followup.domain.adam import AdslSubject, Value, adsl_rows, adtte_dataset_rows
from rescue_followup.domain.adtte import AdtteRow
from rescue_followup.domain.analysis_strata import verified_by_cutoff, with_analysis_strata
from rescue_followup.domain.model import Record, Subject
from rescue_followup.domain.protocol import ProtocolOf, StrataChoice
from rescue_followup.domain.records import adtte_rows, invalidated_by
from rescue_followup.service_layer.analysis import strata_in_force
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.audit.trail import Caller, export_draft

Rows = list[dict[str, Value]]


@dataclass(frozen=True)
class AdamRows:
    adsl: Rows
    adtte: Rows
    strata: StrataChoice  # of ADTTE's STRATA: the protocol's default
    # The ADTTE rows as the analysis and the ADTTE CSV take them, with STRATA as randomized and
    # as verified.
    analysis: Mapping[StrataChoice, list[AdtteRow]]


def build_adam(
    subjects: Sequence[Subject], records: Mapping[str, Sequence[Record]],
    protocol_of: ProtocolOf, cutoff: dt.date | None, strata: StrataChoice,
) -> AdamRows:
    kept = [s for s in subjects if cutoff is None or s.randomization_date <= cutoff]
    adsl = adsl_rows(
        AdslSubject(
            subject_id=s.subject_id, site_id=s.site_id,
            randomization_number=s.randomization_number, arm=s.arm, stratum=s.stratum,
            randomization_date=s.randomization_date, protocol_version=s.protocol_version,
            invalidated=invalidated_by(s, cutoff),
            verified_stratum=verified_by_cutoff(s, cutoff),
        )
        for s in kept
    )
    analysis: dict[StrataChoice, list[AdtteRow]] = {
        choice: adtte_rows(with_analysis_strata(kept, choice, cutoff), records, protocol_of,
                           cutoff)
        for choice in ("randomized", "verified")}
    return AdamRows(adsl=adsl, adtte=adtte_dataset_rows(analysis[strata], adsl), strata=strata,
                    analysis=analysis)


async def download(uow: FollowupUnitOfWork, caller: Caller, export: str,
                   cutoff: dt.date | None = None) -> AdamRows:
    """The datasets for a download: the export is audited (`export.downloaded`)."""
    rows = await adam_rows(uow, cutoff)
    count = len(rows.adsl) if export.startswith("adsl") else len(rows.adtte)
    uow.audit.record(export_draft(caller, export, rows=count, cutoff=cutoff))
    await uow.commit()
    return rows


async def adam_rows(uow: FollowupUnitOfWork, cutoff: dt.date | None = None) -> AdamRows:
    """ADSL and ADTTE rows of every subject randomized by the cut-off, in USUBJID order."""
    subjects = await uow.subjects.all()
    records = await uow.records.by_subject()
    await uow.rollback()  # read done: computing holds no transaction
    strata = strata_in_force(uow, None)
    return await asyncio.to_thread(build_adam, subjects, records, uow.protocols.load, cutoff,
                                   strata)
