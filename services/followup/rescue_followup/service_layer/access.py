"""Site users never learn that another site's subject exists: such a subject is "not found"."""

from __future__ import annotations

from rescue_followup.domain.model import Subject
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.auth.tokens import Principal
from rescue_shared.errors import NotFound


def sees(actor: Principal, site_id: str) -> bool:
    """Whether `actor` may see a subject of `site_id` (trial-wide roles see every site)."""
    return actor.sees_all_sites or actor.site_id == site_id


async def visible_subject(
    uow: FollowupUnitOfWork, actor: Principal, subject_id: str, *, lock: bool = False
) -> Subject:
    """The registered subject, or NotFound (also for another site's subject)."""
    subject = await uow.subjects.get(subject_id, lock=lock)
    if subject is None or not sees(actor, subject.site_id):
        raise NotFound(f"subject {subject_id} not found")
    return subject


def site_scope(actor: Principal) -> str | None:
    """The one site whose subjects `actor` sees (None: every site); a caller bound to no site
    sees none (the empty site id matches no subject)."""
    return None if actor.sees_all_sites else (actor.site_id or "")
