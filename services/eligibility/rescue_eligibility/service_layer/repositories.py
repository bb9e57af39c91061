"""What the eligibility use cases need from storage, in the trial's terms (one Protocol per
repository). `adapters/repositories.py` implements them on SQL, `tests/eligibility_fakes.py` in
memory; `tests/integration/test_repository_contract.py` holds both to the same checks.

Every read returns plain domain objects (`domain/model.py`), detached from any transaction: a
change is stored only through `add` / `save`.
"""

from __future__ import annotations

from typing import Protocol

from rescue_eligibility.domain.criteria import Protocol as EligibilityProtocol
from rescue_eligibility.domain.model import AccessRefusal, Screening, Subject


class Screenings(Protocol):
    """Every screening performed, keyed by screening id."""

    async def get(self, screening_id: str) -> Screening | None:
        """The screening, if there is one with this id."""

    async def add(self, screening: Screening) -> None:
        """Record a new screening."""

    async def save(self, screening: Screening) -> None:
        """Store the changes made to a recorded screening (its final decision)."""

    async def of_subject(self, subject_id: str) -> list[Screening]:
        """The subject's screenings in the order they were made (creation time, then id)."""

    async def all(self, sites: frozenset[str] | None = None) -> list[Screening]:
        """Every screening (of these sites when given) in the order they were made."""


class Subjects(Protocol):
    """Per subject: her site, her latest screening, the latest prediction applied."""

    async def get(self, subject_id: str) -> Subject | None:
        """The subject, if her id is known."""

    async def claim(self, subject_id: str, site_id: str) -> Subject:
        """The subject, registered for `site_id` when her id is new; locked until the unit of
        work ends, so that concurrent writers of one subject queue and none fails on a duplicate
        (whoever registered her first, her site stays theirs)."""

    async def save(self, subject: Subject) -> None:
        """Store the changes made to a claimed subject."""

    async def case_twin(self, subject_id: str) -> str | None:
        """A known id that differs from `subject_id` only in letter case, if any."""


class AccessRefusals(Protocol):
    """Refused attempts on subject ids (kept for the monitors)."""

    async def add(self, refusal: AccessRefusal) -> None:
        """Record a refused attempt."""

    async def newest(self, *, site_id: str | None = None, subject_id: str | None = None,
                     limit: int = 200) -> list[AccessRefusal]:
        """Refused attempts, newest first, of one site and/or one subject id when given."""


class ProtocolSource(Protocol):
    def available_versions(self) -> list[str]:
        """The protocol versions shipped, in natural order."""

    def load(self, version: str) -> EligibilityProtocol:
        """The protocol file of `version` (ProtocolFileError when missing or invalid)."""
