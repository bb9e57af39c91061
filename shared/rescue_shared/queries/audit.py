"""Data query steps in the service's audit trail (docs/audit.md): each step of a query is a
change like any other, recorded in the same transaction as the step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from rescue_shared.audit.chain import Actor, AuditDraft
from rescue_shared.queries.lifecycle import DataQuery, QueryStep

# Records one step of a query in the service's audit trail (the caller's roles beside it).
StepAudit = Callable[[Any, DataQuery, QueryStep, Collection[str]], Awaitable[None]]


def step_draft(query: DataQuery, step: QueryStep, roles: Collection[str]) -> AuditDraft:
    """The audit entry of a step: `query.<action>`, the query's state after it."""
    return AuditDraft(
        action=f"query.{step.action}", actor=Actor(sub=step.actor, roles=tuple(sorted(roles))),
        site_id=query.site_id, subject_id=query.subject_id, reason=step.text,
        after={"query_id": query.id, "state": query.state, "check": query.check,
               "field": query.field, "record_id": query.record_id,
               "correction_ref": step.correction_ref})


async def record_in_shared_trail(uow: Any, query: DataQuery, step: QueryStep,
                                 roles: Collection[str]) -> None:
    """For the services whose unit of work has the shared trail (`uow.audit.record`)."""
    uow.audit.record(step_draft(query, step, roles))
