"""Follow-up's automatic data-query checks, run on every record written and by a sweep over
every subject (docs/data-queries.md). Entry rules already refuse a record dated before the
randomization or after a death; the checks find such data wherever it came from otherwise
(records loaded before a rule existed, a protocol amendment) and close their queries once a
correction removes the discrepancy."""

from __future__ import annotations

from collections.abc import Sequence

from rescue_followup.domain.model import Record, Subject
from rescue_followup.domain.query_checks import (
    ASSESSMENT_AFTER_DEATH,
    RECIST_BEFORE_RANDOMIZATION,
    followup_findings,
)
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.events import FollowupQueryChanged
from rescue_shared.queries.use_cases import ensure_may_run_checks, sync_findings

CHECKS = (RECIST_BEFORE_RANDOMIZATION, ASSESSMENT_AFTER_DEATH)


async def check_subject(uow: FollowupUnitOfWork, subject: Subject, records: Sequence[Record],
                        correction_ref: str | None = None) -> int:
    """Open or close the subject's automatic queries; the caller commits. The number changed."""
    changed = await sync_findings(
        uow, FollowupQueryChanged, site_id=subject.site_id, subject_id=subject.subject_id,
        checks=CHECKS, findings=followup_findings(subject, records),
        correction_ref=correction_ref)
    return len(changed)


async def run_checks(uow: FollowupUnitOfWork, caller: Principal) -> int:
    """Every check over every subject (monitor, data manager); the number of queries changed."""
    ensure_may_run_checks(caller)
    records = await uow.records.by_subject()
    changed = 0
    for subject in await uow.subjects.all():
        changed += await check_subject(uow, subject, records.get(subject.subject_id, []))
    await uow.commit()
    return changed


async def site_of(uow: FollowupUnitOfWork, subject_id: str) -> str | None:
    subject = await uow.subjects.get(subject_id)
    return None if subject is None else subject.site_id
