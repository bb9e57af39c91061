"""Data query steps in randomization's own audit trail (its head is locked by every writer)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from rescue_randomization.service_layer import audit
from rescue_shared.queries.audit import step_draft
from rescue_shared.queries.lifecycle import DataQuery, QueryStep


async def record_step(uow: Any, query: DataQuery, step: QueryStep,
                      roles: Collection[str]) -> None:
    draft = step_draft(query, step, roles)
    head = await uow.audit.lock_head()
    await audit.record(uow, head, draft.action.replace(".", "_"), step.actor,
                       {**draft.after, "reason": draft.reason, "roles": sorted(roles)},
                       site_id=query.site_id, subject_id=query.subject_id)
