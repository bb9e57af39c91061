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
from rescue_followup.domain.model import Record, Subject
from rescue_followup.domain.protocol import ProtocolOf
from rescue_followup.domain.records import adtte_rows, invalidated_by
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork

Rows = list[dict[str, Value]]


@dataclass(frozen=True)
class AdamRows:
    adsl: Rows
    adtte: Rows
    analysis: list[AdtteRow]  # the ADTTE rows as the analysis and the ADTTE CSV take them


def build_adam(
    subjects: Sequence[Subject], records: Mapping[str, Sequence[Record]],
    protocol_of: ProtocolOf, cutoff: dt.date | None,
) -> AdamRows:
    kept = [s for s in subjects if cutoff is None or s.randomization_date <= cutoff]
    adsl = adsl_rows(
        AdslSubject(
            subject_id=s.subject_id, site_id=s.site_id,
            randomization_number=s.randomization_number, arm=s.arm, stratum=s.stratum,
            randomization_date=s.randomization_date, protocol_version=s.protocol_version,
            invalidated=invalidated_by(s, cutoff),
        )
        for s in kept
    )
    analysis = adtte_rows(kept, records, protocol_of, cutoff)
    return AdamRows(adsl=adsl, adtte=adtte_dataset_rows(analysis, adsl), analysis=analysis)


async def adam_rows(uow: FollowupUnitOfWork, cutoff: dt.date | None = None) -> AdamRows:
    """ADSL and ADTTE rows of every subject randomized by the cut-off, in USUBJID order."""
    subjects = await uow.subjects.all()
    records = await uow.records.by_subject()
    await uow.rollback()  # read done: computing holds no transaction
    return await asyncio.to_thread(build_adam, subjects, records, uow.protocols.load, cutoff)
