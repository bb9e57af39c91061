"""Allocation requests of one process, committed in groups (group commit).

Allocations serialize on the audit head anyway (its database lock orders them across replicas).
A request waits here, without a connection or a transaction, while a group is in the database;
the next group takes every request that arrived meanwhile (up to `max_size`): one unit of work,
one lock of the audit head and one commit for all of them (`AllocationGroup`). The lock is held
for the group's reads and writes, not for dozens of commits and HTTP round trips.

Each request's part runs in a copy of the request's own context: its event carries its
correlation id and trace, and its Idempotency-Key claim records its own effect in the group's
transaction. If the group's commit is refused by a UNIQUE constraint (the last line of defence
against a double use), each request is retried alone.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field

from rescue_randomization.adapters.unit_of_work import SqlRandomizationUnitOfWork
from rescue_randomization.service_layer.allocations import (
    AllocationGroup,
    AllocationRequest,
    refuse_collision,
)
from rescue_randomization.service_layer.unit_of_work import CommitConflict
from rescue_randomization.service_layer.views import RandomizationView
from rescue_shared.errors import ServiceError


@dataclass
class _Waiting:
    request: AllocationRequest
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    answer: asyncio.Future[RandomizationView] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    outcome: RandomizationView | ServiceError | None = None


class AllocationGroups:
    def __init__(self, open_unit_of_work: Callable[[], SqlRandomizationUnitOfWork],
                 protocol_version: str, timezone: str, max_size: int = 64) -> None:
        self._open = open_unit_of_work
        self._protocol_version = protocol_version
        self._timezone = timezone
        self._max_size = max_size
        self._queue: list[_Waiting] = []
        self._worker: asyncio.Task[None] | None = None

    async def allocate(self, request: AllocationRequest) -> RandomizationView:
        """The request's allocation once its group is committed; its refusal raised."""
        waiting = _Waiting(request)
        self._queue.append(waiting)
        if self._worker is None or self._worker.done():
            # A context of its own: the worker's commit must not act for the first request.
            self._worker = asyncio.get_running_loop().create_task(
                self._work(), context=contextvars.Context())
        return await waiting.answer

    async def _work(self) -> None:
        while self._queue:
            group, self._queue = self._queue[:self._max_size], self._queue[self._max_size:]
            try:
                if not await self._commit_group(group) and len(group) > 1:
                    for waiting in group:
                        await self._commit_group([waiting])
                for waiting in group:
                    self._answer(waiting)
            except BaseException as exc:  # the database is away, or the worker is cancelled
                cancelled = isinstance(exc, asyncio.CancelledError)
                if cancelled:  # shutting down: nobody will take the requests still queued
                    group, self._queue = group + self._queue, []
                for waiting in group:
                    if waiting.answer.done():
                        continue
                    if cancelled:
                        waiting.answer.cancel()
                    else:
                        waiting.answer.set_exception(exc)
                if cancelled:
                    raise

    async def _commit_group(self, group: list[_Waiting]) -> bool:
        """Decide and commit `group`'s allocations; False when a UNIQUE constraint refused the
        commit (nothing written; a group of one has then recorded its refusal)."""
        async with self._open() as uow:
            first = group[0].request.actor
            allocations = await AllocationGroup.open(
                uow, first, self._protocol_version, self._timezone,
                subject_ids={w.request.subject_id for w in group})
            for waiting in group:
                waiting.outcome = await asyncio.get_running_loop().create_task(
                    self._part(uow, allocations, waiting.request), context=waiting.context)
            try:
                await uow.commit()
                return True
            except CommitConflict:
                await uow.rollback()
                if len(group) == 1:
                    waiting = group[0]
                    waiting.outcome = await asyncio.get_running_loop().create_task(
                        self._refuse_collision(uow, waiting.request), context=waiting.context)
                return False

    @staticmethod
    async def _part(uow: SqlRandomizationUnitOfWork, allocations: AllocationGroup,
                    request: AllocationRequest) -> RandomizationView | ServiceError:
        """One request's allocation or refusal (in its own context), and its idempotency
        claim's record of what it emitted."""
        try:
            view = await allocations.allocate(request)
        except ServiceError as error:
            return error
        finally:
            await uow.record_request_effect()
        return view

    async def _refuse_collision(self, uow: SqlRandomizationUnitOfWork,
                                request: AllocationRequest) -> ServiceError:
        try:
            await refuse_collision(uow, request, self._protocol_version)
        except ServiceError as error:
            return error

    @staticmethod
    def _answer(waiting: _Waiting) -> None:
        if waiting.answer.done():  # its caller went away (the request was cancelled)
            return
        if isinstance(waiting.outcome, ServiceError):
            waiting.answer.set_exception(waiting.outcome)
        elif waiting.outcome is not None:
            waiting.answer.set_result(waiting.outcome)
