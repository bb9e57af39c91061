"""A site's worklist: where each subject stands across the four services, searchable, sortable."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from rescue_console.api import Api
from rescue_console.api_errors import ApiError

# At most this many API calls at once for one page (the services serve other sites too).
CONCURRENT_CALLS = 8
SORT_KEYS = ("subject", "screened", "outcome", "prediction", "kelim", "randomization",
             "next_visit", "overdue", "pfs")


@dataclass(frozen=True)
class WorklistRow:
    subject_id: str
    screening_date: str
    outcome: str  # eligible / ineligible / incomplete (at screening)
    final_decision: str  # eligible / ineligible / pending
    prediction: str | None  # classification
    kelim: float | None  # standardized KELIM in force
    randomizable: bool
    randomized: bool
    arm: str | None
    randomization_number: str | None
    invalidated: bool
    next_visit: str | None  # target date of the next due or upcoming visit
    overdue: int
    pfs: str | None  # "progression", "death", "censored", or None before follow-up

    @property
    def randomization(self) -> str:
        if self.randomized:
            return f"{self.arm} ({self.randomization_number})" + (
                ", invalidated" if self.invalidated else "")
        return "randomizable" if self.randomizable else "not yet"

    def sort_key(self, key: str) -> tuple[Any, ...]:
        value: Any = {
            "subject": self.subject_id, "screened": self.screening_date,
            "outcome": f"{self.outcome}/{self.final_decision}", "prediction": self.prediction,
            "kelim": self.kelim, "randomization": self.randomization,
            "next_visit": self.next_visit, "overdue": self.overdue, "pfs": self.pfs,
        }[key]
        return (value is None, value if value is not None else 0)  # blanks last

    def matches(self, query: str) -> bool:
        text = " ".join(str(v) for v in (
            self.subject_id, self.screening_date, self.outcome, self.final_decision,
            self.prediction, self.randomization, self.next_visit, self.pfs) if v).lower()
        return all(word in text for word in query.lower().split())


def pfs_status(pfs: dict[str, Any] | None) -> str | None:
    if pfs is None:
        return None
    return str(pfs["event_type"]) if pfs["event"] else "censored"


def next_visit(visits: dict[str, Any] | None) -> tuple[str | None, int]:
    """The next visit due or upcoming, and how many are overdue."""
    if visits is None:
        return None, 0
    schedule = visits.get("visits", [])
    overdue = sum(v["status"] == "overdue" for v in schedule)
    ahead = [v["target_date"] for v in schedule if v["status"] in ("due", "upcoming")]
    return (min(ahead) if ahead else None), overdue


async def subject_row(api: Api, screening: dict[str, Any], gate: asyncio.Semaphore,
                      silent: set[str]) -> WorklistRow:
    subject_id = screening["subject_id"]

    async def fetch(service: str, path: str) -> Any:
        async with gate:
            try:
                return await api.get_or_none(service, path)
            except ApiError as exc:
                if exc.status == 401:
                    raise
                silent.add(service)  # the row is shown with that service's columns blank
                return None

    prediction, candidate = await asyncio.gather(
        fetch("prediction", f"/v1/subjects/{subject_id}/prediction"),
        fetch("randomization", f"/v1/candidates/{subject_id}"))
    randomized = bool(candidate and candidate["randomized"])
    allocation = visits = pfs = None
    if randomized:
        allocation, visits, pfs = await asyncio.gather(
            fetch("randomization", f"/v1/randomizations/{subject_id}"),
            fetch("followup", f"/v1/subjects/{subject_id}/visits"),
            fetch("followup", f"/v1/subjects/{subject_id}/pfs"))
    due, overdue = next_visit(visits)
    return WorklistRow(
        subject_id=subject_id, screening_date=screening["screening_date"],
        outcome=screening["outcome"], final_decision=screening["final_decision"],
        prediction=prediction["classification"] if prediction else None,
        kelim=prediction["kelim"]["standardized"] if prediction else None,
        randomizable=bool(candidate and candidate["randomizable"]), randomized=randomized,
        arm=allocation["arm"] if allocation else None,
        randomization_number=allocation["randomization_number"] if allocation else None,
        invalidated=bool(allocation and allocation["status"] == "invalidated"),
        next_visit=due, overdue=overdue, pfs=pfs_status(pfs))


async def site_worklist(api: Api) -> tuple[list[WorklistRow], set[str]]:
    """Every subject the caller's site screened, newest screening first; and the services that
    did not answer (their columns are blank)."""
    screenings = await api.get("eligibility", "/v1/subjects")
    gate = asyncio.Semaphore(CONCURRENT_CALLS)
    silent: set[str] = set()
    rows = await asyncio.gather(*(subject_row(api, s, gate, silent) for s in screenings))
    return list(rows), silent


def arrange(rows: list[WorklistRow], query: str, sort: str, descending: bool
            ) -> list[WorklistRow]:
    chosen = [r for r in rows if r.matches(query)] if query else list(rows)
    if sort in SORT_KEYS:
        chosen.sort(key=lambda r: r.sort_key(sort), reverse=descending)
    return chosen
