"""The audit trail: appending an entry (the head locked first), reading and verifying it.

Every allocation, refusal, configuration change, lock, export and post-randomization finding is
appended with its actor, time and a SHA-256 hash chained to the previous entry (README, "Audit";
docs/protocol/randomization.md, "Concealment and reproducibility").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rescue_randomization.domain.audit_trail import append_entry, verify_trail
from rescue_randomization.domain.records import AuditEntryRecord, AuditHeadRecord
from rescue_randomization.service_layer.clock import now
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_randomization.service_layer.views import AuditEntryView, AuditPage, AuditVerification
from rescue_shared.auth.tokens import Principal


async def record(
    uow: RandomizationUnitOfWork, head: AuditHeadRecord, entry_type: str,
    actor: Principal | str, details: Mapping[str, Any], *, site_id: str | None = None,
    subject_id: str | None = None,
) -> AuditEntryRecord:
    """Append one entry after `head` (which must be locked in this unit of work)."""
    sub, roles = (actor, []) if isinstance(actor, str) else (actor.sub, sorted(actor.roles))
    entry = append_entry(head, entry_type, sub, roles, details, recorded_at=now(),
                         site_id=site_id, subject_id=subject_id)
    await uow.audit.append(head, entry)
    return entry


async def list_audit(
    uow: RandomizationUnitOfWork, *, after: int = -1, limit: int = 100,
    subject_id: str | None = None, entry_type: str | None = None,
) -> AuditPage:
    """Entries in chain order after `after`, filtered by subject and type."""
    entries = await uow.audit.entries(after=after, limit=limit, subject_id=subject_id,
                                      entry_type=entry_type)
    head = await uow.audit.head()
    if head is None:  # written by the migration that creates the trail: a broken store
        raise RuntimeError("the audit trail has no head")
    return AuditPage(total=head.entries, head_hash=head.hash, entries=[AuditEntryView(
        sequence=e.sequence, type=e.entry_type, actor=e.actor, actor_roles=list(e.actor_roles),
        site_id=e.site_id, subject_id=e.subject_id, recorded_at=e.recorded_at,
        details=dict(e.details), hash=e.hash) for e in entries])


async def verify_audit(uow: RandomizationUnitOfWork) -> AuditVerification:
    """Recompute every link; name the first entry that no longer matches."""
    head_hash, entries = await uow.audit.chain()
    result = verify_trail(entries, head_hash)
    return AuditVerification(valid=result.valid, entries=result.entries,
                             first_bad_entry=result.first_bad_entry)
