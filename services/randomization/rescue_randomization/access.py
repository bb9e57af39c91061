"""Who may do what, and the refusal path every write shares (refusals are audited too)."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import Depends

from rescue_randomization import audit
from rescue_randomization.settings import RandomizationSettings
from rescue_randomization.trial import lock_trial
from rescue_shared.auth import Principal, require_roles
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.http.problems import Problem
from rescue_shared.service import Settings

Randomizer = Annotated[Principal, Depends(require_roles("site_user", "investigator"))]
Invalidator = Annotated[Principal, Depends(require_roles("investigator", "admin"))]
TrialTeam = Annotated[Principal, Depends(require_roles("monitor", "statistician"))]
Auditor = Annotated[Principal, Depends(require_roles("monitor", "admin"))]
TrialReader = Annotated[Principal, Depends(require_roles("statistician", "monitor", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]

_AUDITED_EXTENSIONS = ("unmet_conditions", "errors")


def protocol_version(settings: Settings) -> str:
    return (settings.randomization_protocol_version
            if isinstance(settings, RandomizationSettings) else "1")


ProtocolVersion = Annotated[str, Depends(protocol_version)]


async def refuse(
    uow: UnitOfWork, actor: Principal, version: str, problem: Problem, *, action: str,
    subject_id: str | None = None, site_id: str | None = None, **details: Any,
) -> NoReturn:
    """Undo the request's work, record the refusal in its own committed transaction, answer."""
    await uow.rollback()
    head, _ = await lock_trial(uow.session, actor, version)
    audited = {key: problem.extensions[key] for key in _AUDITED_EXTENSIONS
               if key in problem.extensions}
    audit.record(uow.session, head, "refusal", actor, {
        "action": action, "status": problem.status, "title": problem.title,
        "detail": problem.detail, **audited, **details,
    }, site_id=site_id or actor.site_id, subject_id=subject_id)
    await uow.commit()
    raise problem
