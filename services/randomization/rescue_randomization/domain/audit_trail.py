"""The audit trail's records chained with `audit_chain`: appending after the head, verifying.

The hashed content is rebuilt from every stored field of an entry, so editing any of them is
detected; the head (entry count and last hash) is kept apart, so truncating the tail is detected
too. Appending must happen with the head locked (docs/reliability.md: every writer locks the
audit-chain head first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rescue_randomization.domain.audit_chain import (
    ChainedEntry,
    VerificationResult,
    append,
    verify_chain,
)
from rescue_randomization.domain.records import AuditEntryRecord, AuditHeadRecord


def entry_content(entry: AuditEntryRecord) -> dict[str, Any]:
    """What the entry's hash covers."""
    return {
        "sequence": entry.sequence, "type": entry.entry_type, "actor": entry.actor,
        "actor_roles": list(entry.actor_roles), "site_id": entry.site_id,
        "subject_id": entry.subject_id, "recorded_at": entry.recorded_at,
        "details": entry.details,
    }


def append_entry(
    head: AuditHeadRecord, entry_type: str, actor: str, actor_roles: list[str],
    details: Mapping[str, Any], *, recorded_at: datetime, site_id: str | None = None,
    subject_id: str | None = None,
) -> AuditEntryRecord:
    """The entry following `head`, hashed; `head` moves on to it."""
    entry = AuditEntryRecord(sequence=head.entries, entry_type=entry_type, actor=actor,
                             actor_roles=actor_roles, site_id=site_id, subject_id=subject_id,
                             recorded_at=recorded_at, details=dict(details), hash="")
    entry.hash = append(head.hash, entry_content(entry)).hash
    head.entries += 1
    head.hash = entry.hash
    return entry


def verify_trail(entries: Sequence[AuditEntryRecord],
                 head_hash: str | None) -> VerificationResult:
    """Recompute every link from the stored fields; the head must match the last hash."""
    chained = [ChainedEntry(content=entry_content(e), hash=e.hash) for e in entries]
    return verify_chain(chained, expected_head=head_hash)
