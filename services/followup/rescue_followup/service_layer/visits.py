"""Visit status: a subject's schedule on a given day, and the overdue visits per site
(docs/protocol/pfs.md § Tumour-assessment schedule; statuses in `domain/visit_status.py`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rescue_followup.domain.records import current_records, derive_subject_pfs
from rescue_followup.domain.visit_status import VisitOnDay, follow_up_end, visit_views
from rescue_followup.service_layer.access import visible_subject
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.auth.tokens import Principal


@dataclass(frozen=True)
class SubjectVisits:
    subject_id: str
    site_id: str
    today: dt.date
    protocol_version: str
    follow_up_ended: dt.date | None
    visits: list[VisitOnDay]
    unscheduled_assessments: list[dt.date]


@dataclass(frozen=True)
class OverdueVisit:
    subject_id: str
    number: int
    month: int
    target_date: dt.date
    window_end: dt.date
    days_overdue: int


@dataclass(frozen=True)
class SiteOverdue:
    site_id: str
    overdue: list[OverdueVisit]


@dataclass(frozen=True)
class OverdueVisits:
    today: dt.date
    total: int
    sites: list[SiteOverdue]


async def subject_visits(
    uow: FollowupUnitOfWork, actor: Principal, subject_id: str, today: dt.date
) -> SubjectVisits:
    """Her visits done, due, overdue, upcoming or not required on `today`."""
    subject = await visible_subject(uow, actor, subject_id)
    records = await uow.records.of_subject(subject_id)
    current = current_records(records)
    ended = follow_up_end(current, derive_subject_pfs(subject, records, uow.protocols.load))
    visits, unscheduled = visit_views(await uow.visits.of_subject(subject_id), current, ended,
                                      today)
    return SubjectVisits(subject_id=subject_id, site_id=subject.site_id, today=today,
                         protocol_version=subject.protocol_version, follow_up_ended=ended,
                         visits=visits, unscheduled_assessments=unscheduled)


async def overdue_visits(
    uow: FollowupUnitOfWork, actor: Principal, today: dt.date, site_id: str | None = None
) -> OverdueVisits:
    """Overdue visits per site on `today`: the trial team sees every site, site staff their own
    sites (`site_id`: only that one; another site asked for: nothing)."""
    scope = actor.site_scope
    if site_id is not None:
        scope = frozenset({site_id}) if actor.can_access_site(site_id) else frozenset()
    subjects = await uow.subjects.all(scope)
    records = await uow.records.by_subject(scope)
    visits = await uow.visits.by_subject(scope)
    await uow.rollback()  # read done: computing holds no transaction
    by_site: dict[str, list[OverdueVisit]] = {}
    for subject in subjects:
        own = records.get(subject.subject_id, [])
        current = current_records(own)
        ended = follow_up_end(current, derive_subject_pfs(subject, own, uow.protocols.load))
        views, _ = visit_views(visits.get(subject.subject_id, []), current, ended, today)
        overdue = [OverdueVisit(subject_id=subject.subject_id, number=v.number, month=v.month,
                                target_date=v.target_date, window_end=v.window_end,
                                days_overdue=(today - v.window_end).days)
                   for v in views if v.status == "overdue"]
        if overdue:
            by_site.setdefault(subject.site_id, []).extend(overdue)
    sites = [SiteOverdue(site_id=site, overdue=by_site[site]) for site in sorted(by_site)]
    return OverdueVisits(today=today, total=sum(len(s.overdue) for s in sites), sites=sites)
