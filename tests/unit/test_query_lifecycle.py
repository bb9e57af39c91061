"""The life of a data query: who may take which step from which state, and its age."""

from __future__ import annotations

import datetime as dt

import pytest

from rescue_shared.queries.lifecycle import (
    SYSTEM_ACTOR,
    DataQuery,
    QueryAction,
    QueryStep,
    QueryTransitionError,
    age_days,
    apply_step,
)

T0 = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)


def query() -> DataQuery:
    return DataQuery(id="q1", site_id="S01", subject_id="S01-0001", check="manual", field="date",
                     message="date looks wrong", state="open", opened_at=T0)


def step(action: QueryAction, days: int, actor: str = "someone") -> QueryStep:
    return QueryStep(action=action, actor=actor, at=T0 + dt.timedelta(days=days),
                     text="checked against the source documents")


def test_open_answered_closed_and_reopened_by_the_right_roles() -> None:
    q = apply_step(query(), step("answer", 2), {"site_user"})
    assert q.state == "answered"
    q = apply_step(q, step("reopen", 3), {"monitor"})
    assert q.state == "open" and age_days(q, T0 + dt.timedelta(days=10)) == 7
    q = apply_step(q, step("answer", 4), {"investigator"})
    q = apply_step(q, step("close", 5), {"monitor"})
    assert q.state == "closed" and [s.action for s in q.steps] == [
        "answer", "reopen", "answer", "close"]
    assert q.updated_at == T0 + dt.timedelta(days=5)


@pytest.mark.parametrize(("action", "roles"), [
    ("answer", {"monitor"}), ("close", {"site_user"}), ("reopen", {"investigator"}),
    ("close", {"statistician"}),
])
def test_a_step_by_the_wrong_role_is_forbidden(action: QueryAction, roles: set[str]) -> None:
    with pytest.raises(QueryTransitionError) as caught:
        apply_step(query() if action != "reopen" else apply_step(
            query(), step("answer", 1), {"site_user"}), step(action, 2), roles)
    assert caught.value.forbidden


def test_steps_out_of_order_and_empty_answers_are_refused() -> None:
    with pytest.raises(QueryTransitionError, match="cannot be 'reopen'ed"):
        apply_step(query(), step("reopen", 1), {"monitor"})
    closed = apply_step(query(), step("close", 1), {"monitor"})
    with pytest.raises(QueryTransitionError, match="cannot be 'answer'ed"):
        apply_step(closed, step("answer", 2), {"site_user"})
    empty = QueryStep(action="answer", actor="nurse", at=T0, text="  ")
    with pytest.raises(QueryTransitionError, match="needs a reason"):
        apply_step(query(), empty, {"site_user"})


def test_the_system_closes_what_its_checks_opened_once_the_data_agree() -> None:
    q = apply_step(query(), QueryStep(action="close", actor=SYSTEM_ACTOR, at=T0,
                                      text="resolved by a correction", correction_ref="r2"),
                   roles=())
    assert q.state == "closed" and q.steps[-1].correction_ref == "r2"
