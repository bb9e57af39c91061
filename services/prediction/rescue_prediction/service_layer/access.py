"""Who may see or write a subject: her own site writes; trial-wide roles read.

The same 404 whether a subject is unknown or another site's: a site never learns that another
site's subject exists (README, Prediction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from rescue_prediction.domain.model import Subject
from rescue_prediction.service_layer.unit_of_work import PredictionUnitOfWork
from rescue_shared.errors import NotFound


class Caller(Protocol):
    """The authenticated caller (`rescue_shared.auth.Principal` is one)."""

    @property
    def sub(self) -> str: ...

    @property
    def site_id(self) -> str | None: ...

    @property
    def sites(self) -> frozenset[str]: ...

    @property
    def roles(self) -> frozenset[str]: ...

    def can_access_site(self, site_id: str) -> bool: ...

    def works_at(self, site_id: str) -> bool: ...


def now() -> datetime:
    """When a value is received, corrected or quarantined (UTC)."""
    return datetime.now(UTC)


async def visible_subject(uow: PredictionUnitOfWork, caller: Caller,
                          subject_id: str) -> Subject:
    """The subject as the caller may read her: her site's users, or a trial-wide role."""
    subject = await uow.subjects.get(subject_id)
    if subject is None or not caller.can_access_site(subject.site_id):
        raise NotFound(f"subject {subject_id} not found")
    return subject


async def own_subject(uow: PredictionUnitOfWork, caller: Caller, subject_id: str, *,
                      create: bool = True) -> Subject | None:
    """The subject, locked for the caller's write; None when she is another site's (or unknown
    and not `create`d, or the caller has no site).

    A subject this service does not know yet (her `eligibility.screened` has not arrived) is
    created as a provisional subject owned by the caller's site (`create`), so that no write is
    refused because of an event still on its way; a caller of several sites cannot say which
    site she is of: for them she is unknown until her screening arrives. Only her own site
    writes her values: a trial-wide role does not extend writing rights.
    """
    if not caller.sites:
        return None
    if create and caller.site_id is not None:
        subject: Subject | None = await uow.subjects.lock_or_create(subject_id, caller.site_id)
    else:
        subject = await uow.subjects.lock(subject_id)
    if subject is None or not caller.works_at(subject.site_id):
        return None
    return subject


async def lock_own_subject(uow: PredictionUnitOfWork, caller: Caller, subject_id: str, *,
                           create: bool = True) -> Subject:
    """`own_subject`, or NotFound (whether unknown or another site's: existence not revealed)."""
    subject = await own_subject(uow, caller, subject_id, create=create)
    if subject is None:
        raise NotFound(f"subject {subject_id} not found at your site")
    return subject
