"""The problem types the code emits are exactly those docs/problems.md documents."""

from __future__ import annotations

import re
from pathlib import Path

from rescue_shared.http.problem_types import PROBLEM_TYPE_BASE, ProblemType, problem_type_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "problems.md"


def test_every_problem_type_is_documented_and_nothing_else() -> None:
    rows = re.findall(r"^\| `(" + re.escape(PROBLEM_TYPE_BASE) + r"[a-z-]+)`", DOC.read_text(),
                      flags=re.MULTILINE)
    documented = set(rows)
    assert len(rows) == len(documented)
    assert documented == {t.value for t in ProblemType}


def test_statuses_without_a_type_of_their_own_fall_back_to_the_generic_ones() -> None:
    assert problem_type_for(404) == ProblemType.NOT_FOUND
    assert problem_type_for(418) == ProblemType.BAD_REQUEST
    assert problem_type_for(502) == ProblemType.INTERNAL_ERROR
