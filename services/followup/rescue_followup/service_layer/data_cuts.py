"""Data cuts: freeze what was known at a date under a name; read its files back unchanged.

Freezing derives the ADaM rows once and has the entrypoint's renderer make every file of the
cut from them (datasets, Define-XML, analyses, figures); the cut and its files are stored in one
transaction, so a cut is complete or absent (docs/data-cuts.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence

from rescue_followup.domain.data_cuts import CutFile, DataCut, digest, valid_name
from rescue_followup.service_layer.analysis import strata_in_force
from rescue_followup.service_layer.exports import AdamRows, build_adam
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.audit.chain import AuditDraft
from rescue_shared.audit.trail import Caller, actor_of, export_draft
from rescue_shared.clock import latest_calendar_date
from rescue_shared.errors import Conflict, Invalid, NotFound

# Makes every file of a cut from its rows and its cut-off (`entrypoints/http/data_cuts.py`).
CutRenderer = Callable[[AdamRows, dt.date, dt.datetime], Sequence[CutFile]]


async def freeze(
    uow: FollowupUnitOfWork, *, name: str, cutoff: dt.date, reason: str, caller: Caller,
    render: CutRenderer,
) -> DataCut:
    if not valid_name(name):
        raise Invalid(f"data cut name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
                      "starting with a letter or digit",
                      errors=[{"field": "name", "rule": "pattern", "message": "invalid name"}])
    if cutoff > latest_calendar_date():
        raise Invalid(f"cutoff {cutoff} is in the future: a cut freezes what is already known",
                      errors=[{"field": "cutoff", "rule": "not_in_future",
                               "message": "must not be in the future"}])
    if await uow.data_cuts.get(name) is not None:
        raise Conflict(f"a data cut named {name!r} exists; a cut is never replaced")
    subjects = await uow.subjects.all()
    records = await uow.records.by_subject()
    await uow.rollback()  # read done: rendering holds no transaction
    created_at = dt.datetime.now(dt.UTC).replace(microsecond=0)

    strata = strata_in_force(uow, None)

    def make() -> Sequence[CutFile]:
        return render(build_adam(subjects, records, uow.protocols.load, cutoff, strata), cutoff,
                      created_at)

    files = await asyncio.to_thread(make)
    hashes = {f.path: f.sha256 for f in files}
    cut = DataCut(name=name, cutoff=cutoff, created_at=created_at, created_by=caller.sub,
                  reason=reason, digest=digest(hashes), files=hashes)
    if not await uow.data_cuts.add(cut, files):
        raise Conflict(f"a data cut named {name!r} exists; a cut is never replaced")
    uow.audit.record(AuditDraft(action="data_cut.frozen", actor=actor_of(caller), site_id=None,
                                subject_id=None, reason=reason,
                                after={"name": name, "cutoff": cutoff, "digest": cut.digest,
                                       "files": hashes}))
    await uow.commit()
    return cut


async def cuts(uow: FollowupUnitOfWork) -> list[DataCut]:
    return await uow.data_cuts.all()


async def cut(uow: FollowupUnitOfWork, name: str) -> DataCut:
    found = await uow.data_cuts.get(name)
    if found is None:
        raise NotFound(f"no data cut named {name!r}")
    return found


async def cut_file(uow: FollowupUnitOfWork, name: str, path: str) -> CutFile:
    await cut(uow, name)
    found = await uow.data_cuts.file(name, path)
    if found is None:
        raise NotFound(f"data cut {name!r} has no file {path!r}")
    return found


async def download(uow: FollowupUnitOfWork, caller: Caller, name: str, path: str) -> CutFile:
    """A file of a cut as a download: audited (`export.downloaded`, with its SHA-256)."""
    found = await cut_file(uow, name, path)
    uow.audit.record(export_draft(caller, f"data-cuts/{name}/{path}", rows=0,
                                  sha256=found.sha256))
    await uow.commit()
    return found
