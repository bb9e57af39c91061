"""Screening a candidate, and reading screenings back (one, a subject's history, the log)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from rescue_eligibility.domain.audit_records import screening_record
from rescue_eligibility.domain.evaluation import evaluate
from rescue_eligibility.domain.facts import ClinicalFacts
from rescue_eligibility.domain.model import Screening
from rescue_eligibility.domain.screening_log import (
    LoggedScreening,
    ScreeningLog,
    build_screening_log,
)
from rescue_eligibility.service_layer.decisions import decide
from rescue_eligibility.service_layer.subject_ids import refuse, refuse_unusable
from rescue_eligibility.service_layer.unit_of_work import EligibilityUnitOfWork
from rescue_shared.audit.chain import AuditDraft
from rescue_shared.audit.trail import actor_of, export_draft
from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.errors import NotFound


async def screen_subject(uow: EligibilityUnitOfWork, caller: Principal, *, subject_id: str,
                         screening_date: date, facts: ClinicalFacts,
                         site_id: str | None = None) -> Screening:
    """Judge the facts against every criterion of the protocol version in force, record the
    screening with `eligibility.screened`, and commit.

    A subject may be re-screened; her latest screening counts. If a complete-resection prediction
    is already known for her, the final decision is made at once. A subject id the site may not
    use is refused (`subject_ids.refuse`): nothing but the refusal is recorded. The screening
    site is `site_id`, one of the caller's sites (required when they have several). Audited as
    `screening.recorded`, or `screening.rescreened` with her previous latest screening as before.
    """
    site_id = caller.site_for_new_record(site_id)
    await refuse_unusable(uow, caller, subject_id, "screening", site_id)
    # Concurrent first screenings of one subject queue on her row; each is a screening of her
    # history. Two sites racing for a new id: the first registers her, the other is refused.
    subject = await uow.subjects.claim(subject_id, site_id)
    if subject.site_id != site_id:
        await refuse(uow, caller, subject_id, "screening", "another_site", site_id)
    result = evaluate(uow.protocols.load(uow.protocol_version), facts)
    screening = Screening(
        id=str(uuid.uuid4()), subject_id=subject_id, site_id=site_id,
        screening_date=screening_date, protocol_version=result.protocol_version,
        facts=facts.known(), result=result, screened_by=caller.sub,
        created_at=datetime.now(UTC))
    uow.emit(SubjectScreened(
        screening_id=uuid.UUID(screening.id), screening_date=screening_date,
        protocol_version=result.protocol_version, outcome=result.outcome,
        awaiting_prediction=result.awaiting_prediction,
        failed_criteria=list(result.failed_criteria),
        missing_facts=list(result.missing_facts), clinical_facts=facts.known(),
    ), site_id=site_id, subject_id=subject_id)
    decide(uow, screening, subject)  # announced after the screening it decides
    previous = (await uow.screenings.get(subject.latest_screening_id)
                if subject.latest_screening_id else None)
    uow.audit.record(AuditDraft(
        action="screening.rescreened" if previous else "screening.recorded",
        actor=actor_of(caller), site_id=site_id, subject_id=subject_id,
        before=screening_record(previous) if previous else None,
        after=screening_record(screening)))
    subject.latest_screening_id = screening.id
    await uow.screenings.add(screening)
    await uow.subjects.save(subject)
    await uow.commit()
    return screening


async def get_screening(uow: EligibilityUnitOfWork, caller: Principal,
                        screening_id: str) -> Screening:
    """One screening; NotFound when unknown or another site's."""
    screening = await uow.screenings.get(screening_id)
    if screening is None or not caller.can_access_site(screening.site_id):
        raise NotFound(f"screening {screening_id} not found")
    return screening


async def screening_history(uow: EligibilityUnitOfWork, caller: Principal,
                            subject_id: str) -> list[Screening]:
    """A subject's screenings, oldest first (the latest counts); NotFound when unknown or
    another site's."""
    subject = await uow.subjects.get(subject_id)
    if subject is None or not caller.can_access_site(subject.site_id):
        raise NotFound(f"subject {subject_id} not found")
    return await uow.screenings.of_subject(subject_id)


async def screening_log(uow: EligibilityUnitOfWork, caller: Principal) -> ScreeningLog:
    """The screening log of the caller's sites; of every site for the trial team."""
    return _log_of(await uow.screenings.all(caller.site_scope))


async def export_screening_log(uow: EligibilityUnitOfWork, caller: Principal) -> ScreeningLog:
    """The screening log as a download: the export is audited (`export.downloaded`)."""
    scope = caller.site_scope
    screenings = await uow.screenings.all(scope)
    one_site = next(iter(scope)) if scope is not None and len(scope) == 1 else None
    several = {"sites": sorted(scope)} if scope is not None and len(scope) > 1 else {}
    uow.audit.record(export_draft(caller, "screening-log.csv", rows=len(screenings),
                                  site_id=one_site, **several))
    await uow.commit()
    return _log_of(screenings)


def _log_of(screenings: list[Screening]) -> ScreeningLog:
    return build_screening_log(
        LoggedScreening(
            subject_id=s.subject_id, site_id=s.site_id, screening_date=s.screening_date,
            recorded_order=order, outcome=s.result.outcome, final_decision=s.final_decision,
            failed_criteria=s.current.failed_criteria)
        for order, s in enumerate(screenings))


async def latest_screenings(uow: EligibilityUnitOfWork, caller: Principal) -> list[Screening]:
    """Each screened subject's latest screening, of the caller's site (every site for the trial
    team), newest first: a site's worklist starts here."""
    latest: dict[str, Screening] = {}
    for s in await uow.screenings.all(caller.site_scope):  # oldest first: the last one wins
        latest[s.subject_id] = s
    return sorted(latest.values(), key=lambda s: (s.screening_date, s.created_at), reverse=True)
