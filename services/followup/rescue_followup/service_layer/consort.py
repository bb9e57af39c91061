"""The CONSORT flow: investigators see their own site's flow, the trial team the whole trial
(boxes and their rules in `domain/consort.py`)."""

from __future__ import annotations

from rescue_followup.domain.analysis import Population
from rescue_followup.domain.consort import ConsortFlow, build_consort
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.auth.tokens import Principal


async def consort_flow(
    uow: FollowupUnitOfWork, actor: Principal, population: Population = "itt"
) -> ConsortFlow:
    sites = actor.site_scope
    subjects = await uow.subjects.all(sites)
    records = await uow.records.by_subject(sites)
    screenings = await uow.screenings.all(sites)
    decisions = await uow.decisions.all(sites)
    predictions = await uow.predictions.all(sites)
    await uow.rollback()  # read done: computing holds no transaction
    return build_consort(screenings, decisions, predictions, subjects, records, population)
