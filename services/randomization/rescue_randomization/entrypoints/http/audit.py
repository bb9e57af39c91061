"""Reading and verifying the audit trail (monitors and administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rescue_randomization.entrypoints.http.dependencies import Auditor, UoW
from rescue_randomization.service_layer import audit
from rescue_randomization.service_layer.views import AuditPage, AuditVerification

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit", response_model=AuditPage,
            summary="Audit entries in chain order (allocations, refusals, configuration, exports)")
async def list_audit(
    principal: Auditor, uow: UoW,
    # Bounded by the sequence column (INTEGER): a larger number was a 500 from the database.
    after: Annotated[int, Query(ge=-1, le=2**31 - 1,
                                description="Entries with a greater sequence")] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    subject_id: str | None = None, type: str | None = None,
) -> AuditPage:
    return await audit.list_audit(uow, after=after, limit=limit, subject_id=subject_id,
                                  entry_type=type)


@router.get("/audit/verify", response_model=AuditVerification,
            summary="Recompute the hash chain; name the first entry that no longer matches")
async def verify_audit(principal: Auditor, uow: UoW) -> AuditVerification:
    return await audit.verify_audit(uow)
