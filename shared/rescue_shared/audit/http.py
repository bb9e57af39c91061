"""`GET /v1/audit` and `GET /v1/audit/verify`, the same on every service that includes `router`
(its unit of work must carry an audit trail: `sql.UnitOfWorkWithAudit`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from rescue_shared.audit.chain import AuditEntry, Problem
from rescue_shared.audit.sql import UnitOfWorkWithAudit
from rescue_shared.audit.trail import AUDIT_READERS, audit_page, verify_trail
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import unit_of_work

Auditor = Annotated[Principal, Depends(require_roles(*AUDIT_READERS))]
UoW = Annotated[UnitOfWorkWithAudit, Depends(unit_of_work)]

router = APIRouter(prefix="/v1", tags=["audit"])


class AuditEntryView(BaseModel):
    sequence: int = Field(description="0-based position in this service's chain.")
    occurred_at: datetime
    action: str = Field(description="What happened, e.g. `ca125.corrected`.")
    actor: str = Field(description="Token subject, or `system:consumer` for an applied event.")
    actor_roles: list[str]
    site_id: str | None
    subject_id: str | None
    reason: str | None = Field(description="Why (corrections, refusals).")
    before: Any = Field(description="The changed record before the change (null: created).")
    after: Any = Field(description="The record after the change.")
    correlation_id: str | None
    event_id: str | None = Field(description="The event applied, when a consumer made it.")
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryView:
        return cls(**{name: getattr(entry, name) for name in cls.model_fields})


class AuditPageView(BaseModel):
    entries: list[AuditEntryView]
    total: int = Field(description="Entries in the whole chain (all sites).")
    head_hash: str
    next_after: int | None = Field(description="Pass as `after` for the next page.")


class AuditVerificationView(BaseModel):
    valid: bool
    entries: int = Field(description="Entries checked.")
    head_entries: int = Field(description="Entries the head says the chain has.")
    head_hash: str
    first_bad_entry: int | None = Field(
        description="Sequence of the first entry that fails; for `truncated`, the first "
                    "missing one (= the entries found).")
    problem: Problem | None = Field(
        description="hash_mismatch (an entry was edited), broken_link / sequence_gap (an entry "
                    "was removed or reordered), truncated (entries after the last one found are "
                    "missing), head_mismatch (the last entries were replaced).")


@router.get("/audit", response_model=AuditPageView,
            summary="Audit entries in chain order (who, what, when, why, before and after)")
async def list_audit(
    principal: Auditor, uow: UoW,
    after: Annotated[int, Query(ge=-1, le=2**31 - 1,  # the sequence column is an INTEGER
                                description="Entries with a greater sequence")] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    subject_id: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
) -> AuditPageView:
    """Monitors and administrators; a monitor bound to sites reads those sites' entries."""
    page = await audit_page(uow.audit, principal, after=after, limit=limit,
                            subject_id=subject_id, action=action)
    return AuditPageView(entries=[AuditEntryView.of(e) for e in page.entries], total=page.total,
                         head_hash=page.head_hash, next_after=page.next_after)


@router.get("/audit/verify", response_model=AuditVerificationView,
            summary="Recompute the hash chain; name the first entry that fails")
async def verify_audit(principal: Auditor, uow: UoW) -> AuditVerificationView:
    result = await verify_trail(uow.audit)
    return AuditVerificationView(
        valid=result.valid, entries=result.entries, head_entries=result.head_entries,
        head_hash=result.head_hash, first_bad_entry=result.first_bad_entry,
        problem=result.problem)
