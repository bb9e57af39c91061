"""Data queries in memory, for the use-case tests of the services (the same promises as
`sql.SqlDataQueries`)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Collection

from rescue_shared.queries.lifecycle import DataQuery, QueryState


class InMemoryDataQueries:
    def __init__(self, store: dict[str, DataQuery] | None = None) -> None:
        self.store = store if store is not None else {}

    async def get(self, query_id: str, *, lock: bool = False) -> DataQuery | None:
        return copy.deepcopy(self.store.get(query_id))

    async def add(self, query: DataQuery) -> None:
        self.store[query.id] = copy.deepcopy(query)

    async def save(self, query: DataQuery) -> None:
        if query.id not in self.store:
            raise LookupError(f"no data query {query.id} to save (add it first)")
        self.store[query.id] = copy.deepcopy(query)

    async def find(
        self, *, site_ids: Collection[str] | None = None, subject_id: str | None = None,
        state: QueryState | None = None, check: str | None = None,
        opened_before: dt.datetime | None = None,
    ) -> list[DataQuery]:
        return [copy.deepcopy(q) for q in sorted(self.store.values(),
                                                  key=lambda q: (q.opened_at, q.id))
                if (site_ids is None or q.site_id in site_ids)
                and (subject_id is None or q.subject_id == subject_id)
                and (state is None or q.state == state) and (check is None or q.check == check)
                and (opened_before is None or q.opened_at < opened_before)]
