"""The subject ids a site may not use: one answer whatever the cause, the cause kept for monitors.

Every refusal gets the very same answer, byte for byte (an `Invalid` naming `subject_id` with the
rule `unavailable`), so that a site cannot tell another site's subject from any other unusable id:
the answer says only "choose another pseudonym". The cause (`domain/subject_ids.py`) is recorded
(`GET /v1/access-refusals`) and logged as a WARNING.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import NoReturn

from rescue_eligibility.domain.model import AccessRefusal
from rescue_eligibility.domain.subject_ids import RefusalCause, cause_before_use
from rescue_eligibility.service_layer.unit_of_work import EligibilityUnitOfWork
from rescue_shared.audit.chain import AuditDraft
from rescue_shared.audit.trail import actor_of
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import Invalid, invalid_fields
from rescue_shared.observability.context import current_correlation_id

log = logging.getLogger(__name__)
UNAVAILABLE_MESSAGE = "this subject id cannot be used at your site; choose another pseudonym"


def unavailable() -> Invalid:
    """The answer to every refused subject id (whatever the cause)."""
    return invalid_fields([{"field": "subject_id", "rule": "unavailable",
                            "message": UNAVAILABLE_MESSAGE}])


async def refuse(uow: EligibilityUnitOfWork, caller: Principal, subject_id: str, action: str,
                 cause: RefusalCause, site_id: str) -> NoReturn:
    """Undo what the unit of work did so far, record the attempt by `site_id` (committed on its
    own with its audit entry: the request changes nothing else), log it, and answer as for any
    unusable id."""
    await uow.rollback()
    await uow.refusals.add(AccessRefusal(
        attempted_at=datetime.now(UTC), actor=caller.sub, actor_roles=sorted(caller.roles),
        site_id=site_id, subject_id=subject_id, action=action, cause=cause,
        correlation_id=current_correlation_id()))
    uow.audit.record(AuditDraft(action="subject_id.refused", actor=actor_of(caller),
                                site_id=site_id, subject_id=subject_id,
                                after={"action": action, "cause": cause}))
    await uow.commit()
    log.warning("refused subject id %s to %s of site %s (%s: %s)", subject_id, caller.sub,
                site_id, action, cause)
    raise unavailable()


async def refuse_unusable(uow: EligibilityUnitOfWork, caller: Principal, subject_id: str,
                          action: str, site_id: str) -> None:
    """Refuse a reserved id, or one confusable with an id in use, before her row is claimed."""
    if cause := cause_before_use(subject_id, await uow.subjects.case_twin(subject_id)):
        await refuse(uow, caller, subject_id, action, cause, site_id)


async def list_access_refusals(uow: EligibilityUnitOfWork, *, site_id: str | None = None,
                               subject_id: str | None = None,
                               limit: int = 200) -> list[AccessRefusal]:
    """Refused attempts, newest first: who, from which site, on which id, doing what, and why."""
    return await uow.refusals.newest(site_id=site_id, subject_id=subject_id, limit=limit)
