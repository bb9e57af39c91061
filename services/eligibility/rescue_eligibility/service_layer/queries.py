"""Data queries on eligibility's records (screenings): raised by hand by monitors; eligibility
has no automatic check of its own, the cross-service ones run where the other data live
(docs/data-queries.md)."""

from __future__ import annotations

from rescue_eligibility.service_layer.unit_of_work import EligibilityUnitOfWork


async def site_of(uow: EligibilityUnitOfWork, subject_id: str) -> str | None:
    subject = await uow.subjects.get(subject_id)
    return None if subject is None else subject.site_id
