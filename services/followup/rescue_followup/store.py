"""Reading subjects and their records from the database (the queries the routes share)."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_followup.tables import Assessment, FollowupSubject, Visit
from rescue_shared.auth import Principal, ensure_same_site


async def release(session: AsyncSession) -> None:
    """End the read transaction before computing (SQLite readers hold the write lock here);
    the rows read keep their values, detached from the session."""
    session.expunge_all()
    await session.rollback()


async def subject_for(
    session: AsyncSession, principal: Principal, subject_id: str, *, lock: bool = False
) -> FollowupSubject:
    """The registered subject, or 404 (also for another site's subject). `lock` serializes
    writers of one subject on PostgreSQL (SQLite transactions are serialized already)."""
    query = select(FollowupSubject).where(FollowupSubject.subject_id == subject_id)
    if lock:
        query = query.with_for_update()
    subject = (await session.exec(query)).first()
    ensure_same_site(principal, subject.site_id if subject else None, f"subject {subject_id}")
    assert subject is not None
    return subject


async def records_of(session: AsyncSession, subject_id: str) -> list[Assessment]:
    """Every record of the subject, superseded ones included, in the order they were made."""
    return list((await session.exec(
        select(Assessment).where(Assessment.subject_id == subject_id)
        .order_by(col(Assessment.created_at), col(Assessment.id)))).all())


async def visits_of(session: AsyncSession, subject_id: str) -> list[Visit]:
    return list((await session.exec(
        select(Visit).where(Visit.subject_id == subject_id).order_by(col(Visit.number)))).all())


async def subjects_with_records(
    session: AsyncSession, site_id: str | None = None
) -> tuple[list[FollowupSubject], dict[str, list[Assessment]]]:
    """All registered subjects (of one site when given) and their records."""
    subjects_query = select(FollowupSubject).order_by(col(FollowupSubject.subject_id))
    records_query = select(Assessment).order_by(col(Assessment.created_at), col(Assessment.id))
    if site_id is not None:
        subjects_query = subjects_query.where(FollowupSubject.site_id == site_id)
        records_query = records_query.where(Assessment.site_id == site_id)
    subjects = list((await session.exec(subjects_query)).all())
    records: dict[str, list[Assessment]] = defaultdict(list)
    for record in (await session.exec(records_query)).all():
        records[record.subject_id].append(record)
    return subjects, dict(records)


async def visits_by_subject(
    session: AsyncSession, site_id: str | None = None
) -> dict[str, list[Visit]]:
    """The visit schedules of all registered subjects (of one site when given)."""
    query = (select(Visit).join(FollowupSubject,
                                col(FollowupSubject.subject_id) == col(Visit.subject_id))
             .order_by(col(Visit.subject_id), col(Visit.number)))
    if site_id is not None:
        query = query.where(FollowupSubject.site_id == site_id)
    visits: dict[str, list[Visit]] = defaultdict(list)
    for visit in (await session.exec(query)).all():
        visits[visit.subject_id].append(visit)
    return dict(visits)
