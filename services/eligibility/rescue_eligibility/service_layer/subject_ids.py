"""Which subject ids a site may use, and the one answer it gets when it may not.

A site chooses its subjects' pseudonyms. An id is refused when:
- `another_site`: the subject is another site's (screened there, or known from her prediction);
- `confusable`: it differs only in letter case from an id already in use (at any site):
  `s01-0001` beside `S01-0001` reads as the same person;
- `reserved`: a placeholder, not a pseudonym (`test`, `unknown`, `none`, ...).
Every refusal gets the very same answer, byte for byte (a 422 naming `subject_id` with the rule
`unavailable`), so that a site cannot tell another site's subject from any other unusable id:
the answer says only "choose another pseudonym". The cause is kept for the monitors
(`eligibility_access_refusal`, `GET /v1/access-refusals`) and logged as a WARNING.
"""

from __future__ import annotations

import logging
from typing import Literal, NoReturn

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_eligibility.tables import AccessRefusal, EligibilitySubject
from rescue_shared.auth import Principal
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.http.problems import Problem
from rescue_shared.observability.context import current_correlation_id

log = logging.getLogger(__name__)
RefusalCause = Literal["another_site", "confusable", "reserved"]
RESERVED_SUBJECT_IDS = frozenset({
    "test", "demo", "example", "unknown", "none", "null", "nil", "na", "n-a", "n.a",
    "anonymous", "anon", "patient", "subject", "xxx", "tbd",
})
UNAVAILABLE_MESSAGE = "this subject id cannot be used at your site; choose another pseudonym"


def unavailable() -> Problem:
    """The answer to every refused subject id (whatever the cause)."""
    return Problem(422, "Invalid request", "invalid field(s): subject_id", errors=[{
        "field": "subject_id", "rule": "unavailable", "message": UNAVAILABLE_MESSAGE}])


async def cause_before_use(session: AsyncSession, subject_id: str) -> RefusalCause | None:
    """Why `subject_id` cannot be used, as far as it can be told before locking her row."""
    if subject_id.lower() in RESERVED_SUBJECT_IDS:
        return "reserved"
    twins = (await session.exec(
        select(EligibilitySubject.subject_id)
        .where(func.lower(col(EligibilitySubject.subject_id)) == subject_id.lower())
        .where(col(EligibilitySubject.subject_id) != subject_id).limit(1))).first()
    return "confusable" if twins is not None else None


async def refuse(uow: UnitOfWork, principal: Principal, subject_id: str, action: str,
                 cause: RefusalCause) -> NoReturn:
    """Record the attempt (committed on its own: the request changes nothing else), log it,
    and answer as for any unusable id."""
    await uow.rollback()
    uow.session.add(AccessRefusal(
        actor=principal.sub, actor_roles=sorted(principal.roles), site_id=principal.site_id,
        subject_id=subject_id, action=action, cause=cause,
        correlation_id=current_correlation_id()))
    await uow.commit()
    log.warning("refused subject id %s to %s of site %s (%s: %s)", subject_id, principal.sub,
                principal.site_id, action, cause)
    raise unavailable()
