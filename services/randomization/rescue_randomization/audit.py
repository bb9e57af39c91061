"""The append-only audit trail in the database, chained with `domain.audit_chain`.

Every writer first locks the head row (`lock_head`), then appends: the head (entry count and last
hash) is read and written in that same transaction, so concurrent appends cannot fork the chain.
The hashed content is rebuilt from every stored column, so editing any of them is detected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_randomization.domain.audit_chain import (
    ChainedEntry,
    VerificationResult,
    append,
    verify_chain,
)
from rescue_randomization.tables import AuditEntry, AuditHead
from rescue_shared.auth import Principal
from rescue_shared.db.platform_tables import utcnow


async def lock_head(session: AsyncSession) -> AuditHead:
    """Lock the chain head (FOR UPDATE on PostgreSQL; SQLite writers are serialized already).

    Call it first in a writing transaction: everything read afterwards is current.
    """
    head = (await session.exec(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
        .execution_options(populate_existing=True))).one()
    return head


def entry_content(entry: AuditEntry) -> dict[str, Any]:
    """What the entry's hash covers."""
    return {
        "sequence": entry.sequence, "type": entry.entry_type, "actor": entry.actor,
        "actor_roles": list(entry.actor_roles), "site_id": entry.site_id,
        "subject_id": entry.subject_id, "recorded_at": entry.recorded_at,
        "details": entry.details,
    }


def record(
    session: AsyncSession, head: AuditHead, entry_type: str, actor: Principal | str,
    details: Mapping[str, Any], *, site_id: str | None = None, subject_id: str | None = None,
) -> AuditEntry:
    """Append one entry after `head` (which must be locked in this transaction)."""
    sub, roles = (actor, []) if isinstance(actor, str) else (actor.sub, sorted(actor.roles))
    entry = AuditEntry(sequence=head.entries, entry_type=entry_type, actor=sub, actor_roles=roles,
                       site_id=site_id, subject_id=subject_id, recorded_at=utcnow(),
                       details=dict(details), hash="")
    entry.hash = append(head.hash, entry_content(entry)).hash
    head.entries += 1
    head.hash = entry.hash
    session.add_all([entry, head])
    return entry


async def verify(session: AsyncSession) -> VerificationResult:
    """Recompute every link from the stored columns; the head row must match the last hash.

    The head is read FOR SHARE: appends wait until the entries are read, so an append committed
    between the two reads cannot look like a truncated chain (PostgreSQL takes a new snapshot
    per statement).
    """
    head = (await session.exec(
        select(AuditHead).where(AuditHead.id == 1).with_for_update(read=True)
        .execution_options(populate_existing=True))).first()
    entries = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.sequence)))).all()
    chained = [ChainedEntry(content=entry_content(e), hash=e.hash) for e in entries]
    return verify_chain(chained, expected_head=head.hash if head else None)
