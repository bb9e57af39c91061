"""The life of a data query, as EDC systems run it (REDCap's data resolution workflow,
OpenClinica's discrepancy notes): a monitor (or an automatic check) opens it on a record; the
site answers with a reason or a correction; the monitor closes it or re-opens it. Every step is
kept with who, when and why.

    open --answer--> answered --close--> closed
      ^                 |                   |
      +----reopen-------+-------reopen------+
    open --close--> closed   (a monitor withdraws a query raised in error, with a reason)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final, Literal

QueryState = Literal["open", "answered", "closed"]
QueryAction = Literal["open", "answer", "close", "reopen"]
SYSTEM_ACTOR: Final = "system:automatic-check"

# Who may take each step: the site answers for its own records; monitors (and data managers)
# raise, close and re-open.
MONITORING_ROLES: Final = frozenset({"monitor", "data_manager"})
SITE_ROLES: Final = frozenset({"site_user", "investigator"})
ROLES_OF: Final[dict[QueryAction, frozenset[str]]] = {
    "open": MONITORING_ROLES, "answer": SITE_ROLES | {"data_manager"},
    "close": MONITORING_ROLES, "reopen": MONITORING_ROLES,
}
NEXT_STATE: Final[dict[tuple[QueryState, QueryAction], QueryState]] = {
    ("open", "answer"): "answered",
    ("open", "close"): "closed",
    ("answered", "close"): "closed",
    ("answered", "reopen"): "open",
    ("closed", "reopen"): "open",
}


class QueryTransitionError(ValueError):
    """The step is not allowed from the query's state, or not for the caller's roles."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


@dataclass(frozen=True)
class QueryStep:
    action: QueryAction
    actor: str
    at: dt.datetime
    text: str
    correction_ref: str | None = None  # the record that corrected the data, if any


@dataclass(frozen=True)
class Finding:
    """A discrepancy an automatic check found: the query it should open."""

    check: str  # stable code, e.g. "recist_before_randomization"
    subject_id: str
    field: str
    message: str
    record_id: str | None = None


@dataclass
class DataQuery:
    id: str
    site_id: str
    subject_id: str
    check: str  # an automatic check's code, or "manual"
    field: str
    message: str
    state: QueryState
    opened_at: dt.datetime
    record_id: str | None = None
    steps: list[QueryStep] = dataclasses.field(default_factory=list)

    @property
    def updated_at(self) -> dt.datetime:
        return self.steps[-1].at if self.steps else self.opened_at


def next_state(
    query_state: QueryState, action: QueryAction, roles: Collection[str], *,
    system: bool = False,
) -> QueryState:
    """The state after `action`; QueryTransitionError when not allowed (`forbidden` when the
    roles are the reason)."""
    if not system and not set(roles) & ROLES_OF[action]:
        raise QueryTransitionError(
            f"{action} needs one of the roles {sorted(ROLES_OF[action])}", forbidden=True)
    try:
        return NEXT_STATE[(query_state, action)]
    except KeyError:
        allowed = sorted(a for (s, a) in NEXT_STATE if s == query_state)
        raise QueryTransitionError(
            f"a query that is {query_state} cannot be {action!r}ed; allowed: {allowed}"
        ) from None


def apply_step(query: DataQuery, step: QueryStep, roles: Collection[str]) -> DataQuery:
    """The query after one step by a caller with `roles` (the system closes what it opened
    when the data no longer disagree)."""
    if not step.text.strip():
        raise QueryTransitionError(f"a {step.action} needs a reason or an answer")
    state = next_state(query.state, step.action, roles, system=step.actor == SYSTEM_ACTOR)
    query.state = state
    query.steps.append(step)
    return query


def age_days(query: DataQuery, now: dt.datetime) -> int:
    """Days the query has been waiting since it was opened (or last re-opened)."""
    since = query.opened_at
    for step in query.steps:
        if step.action == "reopen":
            since = step.at
    return max(0, (now - since).days)
