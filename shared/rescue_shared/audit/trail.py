"""The audit trail as the use cases see it: the port a unit of work offers, who may read it, and
the two read use cases (a page of entries, the verification of the whole chain).

A use case records a change with `uow.audit.record(AuditDraft(...))` next to the change itself;
the unit of work appends the staged entries after the head when it commits, in that same
transaction (`sql.AuditedUnitOfWork`), and forgets them when it rolls back. So a request that
fails leaves no entry, and an entry never exists without its change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rescue_shared.audit.chain import (
    Actor,
    AuditDraft,
    AuditEntry,
    AuditHead,
    ChainCheck,
    Verification,
)
from rescue_shared.auth.tokens import Principal

#: Roles that read audit trails (as in randomization: monitors and administrators).
AUDIT_READERS = ("monitor", "admin")
VERIFY_PAGE = 1000


class AuditTrail(Protocol):
    def record(self, draft: AuditDraft) -> None:
        """Stage an entry; it is appended, hashed after the head, when the unit of work commits."""

    async def head(self) -> AuditHead:
        """The head as committed (no lock)."""

    async def head_for_verification(self) -> AuditHead:
        """The head, read so that the entries read next in this unit of work are those of the
        same moment (an append committed in between would look like a broken chain)."""

    async def entries(self, *, after: int = -1, limit: int = 100, subject_id: str | None = None,
                      action: str | None = None,
                      site_ids: frozenset[str] | None = None) -> list[AuditEntry]:
        """Entries in sequence order with a sequence greater than `after`; of one subject, one
        action, and of the sites in `site_ids` (None: every site, site-less entries included)."""


class AuditedUnitOfWork(Protocol):
    """What a service's unit of work adds for its audit trail."""

    @property
    def audit(self) -> AuditTrail: ...


class Caller(Protocol):
    """Who calls (a `Principal`, or a use case's narrower view of one)."""

    @property
    def sub(self) -> str: ...

    @property
    def roles(self) -> frozenset[str]: ...


def actor_of(caller: Caller) -> Actor:
    return Actor(sub=caller.sub, roles=tuple(sorted(caller.roles)))


def readable_sites(caller: Principal) -> frozenset[str] | None:
    """The sites whose entries `caller` (a monitor or admin) reads; None: every site.

    Administrators read every site; so do monitors, unless their token names the sites they
    monitor (`Principal.sites` not empty): then only those.
    """
    if "admin" in caller.roles or not caller.sites:
        return None
    return caller.sites


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int  # entries in the whole chain
    head_hash: str
    next_after: int | None  # pass as `after` for the next page (None: no entry returned)


async def audit_page(trail: AuditTrail, caller: Principal, *, after: int = -1, limit: int = 100,
                     subject_id: str | None = None, action: str | None = None) -> AuditPage:
    """Entries in chain order after `after`, of the caller's sites, filtered by subject/action."""
    head = await trail.head()
    entries = await trail.entries(after=after, limit=limit, subject_id=subject_id, action=action,
                                  site_ids=readable_sites(caller))
    return AuditPage(entries=entries, total=head.entries, head_hash=head.hash,
                     next_after=entries[-1].sequence if entries else None)


async def verify_trail(trail: AuditTrail) -> Verification:
    """Recompute every link from the stored fields, page by page; compare the end with the head
    (truncation). Names the first entry that fails."""
    check = ChainCheck(await trail.head_for_verification())
    after = -1
    while True:
        page = await trail.entries(after=after, limit=VERIFY_PAGE)
        for entry in page:
            if not check.feed(entry):
                return check.result()
        if len(page) < VERIFY_PAGE:
            return check.result()
        after = page[-1].sequence


def export_draft(caller: Caller, export: str, *, rows: int, site_id: str | None = None,
                 **details: Any) -> AuditDraft:
    """The entry of a data export (`export.downloaded`): which export, how many rows, of which
    site (`site_id`; None: every site)."""
    return AuditDraft(action="export.downloaded", actor=actor_of(caller), site_id=site_id,
                      subject_id=None,
                      after={"export": export, "rows": rows, "scope_site_id": site_id,
                             **details})
