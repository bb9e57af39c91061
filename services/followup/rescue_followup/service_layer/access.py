"""Site users never learn that another site's subject exists: such a subject is "not found"."""

from __future__ import annotations

from rescue_followup.domain.model import Subject
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import NotFound


async def visible_subject(
    uow: FollowupUnitOfWork, actor: Principal, subject_id: str, *, lock: bool = False
) -> Subject:
    """The registered subject, or NotFound (also for another site's subject)."""
    subject = await uow.subjects.get(subject_id, lock=lock)
    if subject is None or not actor.can_access_site(subject.site_id):
        raise NotFound(f"subject {subject_id} not found")
    return subject
