"""Which subject ids a site may not use, and why (the rules; the records are kept elsewhere).

A site chooses its subjects' pseudonyms. An id is refused when:
- `another_site`: the subject is another site's (screened there, or known from her prediction);
- `confusable`: it differs only in letter case from an id already in use (at any site):
  `s01-0001` beside `S01-0001` reads as the same person;
- `reserved`: a placeholder, not a pseudonym (`test`, `unknown`, `none`, ...).
"""

from __future__ import annotations

from typing import Literal

RefusalCause = Literal["another_site", "confusable", "reserved"]
RESERVED_SUBJECT_IDS = frozenset({
    "test", "demo", "example", "unknown", "none", "null", "nil", "na", "n-a", "n.a",
    "anonymous", "anon", "patient", "subject", "xxx", "tbd",
})


def cause_before_use(subject_id: str, case_twin: str | None) -> RefusalCause | None:
    """Why `subject_id` cannot be used, as far as it can be told before locking her row.

    `case_twin`: an id in use that differs from `subject_id` only in letter case, if any."""
    if subject_id.lower() in RESERVED_SUBJECT_IDS:
        return "reserved"
    return "confusable" if case_twin is not None else None
