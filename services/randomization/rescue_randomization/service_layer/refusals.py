"""The refusal path every write shares: refusals are audited too.

A refused request's work is undone, then the refusal is appended to the audit trail in its own
committed transaction (the head locked first, as for any writer), and the error is raised for the
caller (README, "Audit").
"""

from __future__ import annotations

from typing import Any, NoReturn

from rescue_randomization.domain.records import AuditHeadRecord
from rescue_randomization.service_layer import audit
from rescue_randomization.service_layer.trial_setup import lock_trial
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import ServiceError

_AUDITED_EXTENSIONS = ("unmet_conditions", "errors")


async def refuse(
    uow: RandomizationUnitOfWork, actor: Principal, protocol_version: str, error: ServiceError,
    *, action: str, subject_id: str | None = None, site_id: str | None = None, **details: Any,
) -> NoReturn:
    """Undo the request's work, record the refusal in its own committed transaction, raise."""
    await uow.rollback()
    head, _ = await lock_trial(uow, actor, protocol_version)
    await record_refusal(uow, head, actor, error, action=action, subject_id=subject_id,
                         site_id=site_id, **details)
    await uow.commit()
    raise error


async def record_refusal(
    uow: RandomizationUnitOfWork, head: AuditHeadRecord, actor: Principal, error: ServiceError,
    *, action: str, subject_id: str | None = None, site_id: str | None = None, **details: Any,
) -> None:
    """Append the refusal after `head` (locked in this unit of work); the caller commits."""
    audited = {key: error.extensions[key] for key in _AUDITED_EXTENSIONS
               if key in error.extensions}
    await audit.record(uow, head, "refusal", actor, {
        "action": action, "status": error.status, "title": error.title,
        "detail": error.detail, **audited, **details,
    }, site_id=site_id or actor.site_id, subject_id=subject_id)
