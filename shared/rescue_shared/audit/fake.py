"""An in-memory audit trail for use-case tests (the same chain as the SQL one, no database).

A service's fake store holds an `AuditLog`; its fake unit of work builds an `InMemoryAuditTrail`
on the log of its working copy, calls `append_staged` in `commit` and `discard` in `rollback`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rescue_shared.audit.chain import AuditDraft, AuditEntry, AuditHead, next_entry
from rescue_shared.db.platform_tables import utcnow


@dataclass
class AuditLog:
    entries: list[AuditEntry] = field(default_factory=list)
    head: AuditHead = field(default_factory=AuditHead)


class InMemoryAuditTrail:
    def __init__(self, log: Callable[[], AuditLog]) -> None:
        self._log = log
        self.staged: list[AuditDraft] = []

    def record(self, draft: AuditDraft) -> None:
        self.staged.append(draft)

    def discard(self) -> None:
        self.staged = []

    def append_staged(self) -> None:
        log = self._log()
        for draft in self.staged:
            entry, log.head = next_entry(log.head, draft, occurred_at=utcnow(),
                                         correlation_id="test-correlation")
            log.entries.append(entry)
        self.staged = []

    async def head(self) -> AuditHead:
        return self._log().head

    async def head_for_verification(self) -> AuditHead:
        return self._log().head

    async def entries(self, *, after: int = -1, limit: int = 100, subject_id: str | None = None,
                      action: str | None = None,
                      site_ids: frozenset[str] | None = None) -> list[AuditEntry]:
        return [e for e in self._log().entries
                if e.sequence > after and subject_id in (None, e.subject_id)
                and action in (None, e.action)
                and (site_ids is None or e.site_id in site_ids)][:limit]
