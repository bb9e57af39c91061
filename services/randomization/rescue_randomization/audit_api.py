"""Reading and verifying the audit trail (monitors and administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from rescue_randomization import audit
from rescue_randomization.access import Auditor
from rescue_randomization.schemas import AuditEntryView, AuditPage, AuditVerification
from rescue_randomization.tables import AuditEntry, AuditHead
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit", response_model=AuditPage,
            summary="Audit entries in chain order (allocations, refusals, configuration, exports)")
async def list_audit(
    principal: Auditor, uow: UoW,
    after: Annotated[int, Query(ge=-1, description="Entries with a greater sequence")] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    subject_id: str | None = None, type: str | None = None,
) -> AuditPage:
    query = (select(AuditEntry).where(AuditEntry.sequence > after)
             .order_by(col(AuditEntry.sequence)).limit(limit))
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    if type is not None:
        query = query.where(AuditEntry.entry_type == type)
    entries = (await uow.session.exec(query)).all()
    head = await uow.session.get(AuditHead, 1)
    assert head is not None
    return AuditPage(total=head.entries, head_hash=head.hash, entries=[AuditEntryView(
        sequence=e.sequence, type=e.entry_type, actor=e.actor, actor_roles=list(e.actor_roles),
        site_id=e.site_id, subject_id=e.subject_id, recorded_at=e.recorded_at,
        details=dict(e.details), hash=e.hash) for e in entries])


@router.get("/audit/verify", response_model=AuditVerification,
            summary="Recompute the hash chain; name the first entry that no longer matches")
async def verify_audit(principal: Auditor, uow: UoW) -> AuditVerification:
    result = await audit.verify(uow.session)
    return AuditVerification(valid=result.valid, entries=result.entries,
                             first_bad_entry=result.first_bad_entry)
