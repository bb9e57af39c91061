"""Composition root of the follow-up service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_followup.adapters.unit_of_work import SqlFollowupUnitOfWork
from rescue_followup.entrypoints.events import HANDLERS
from rescue_followup.entrypoints.http import analysis, consort, subjects
from rescue_followup.entrypoints.http.examples import REQUEST_EXAMPLES, RULES_BEYOND_SCHEMA
from rescue_followup.settings import FollowupSettings
from rescue_shared.contracts.registry import ELIGIBILITY, PREDICTION, RANDOMIZATION
from rescue_shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="followup",
    title="RESCUE follow-up service",
    description="Assessments, progression and PFS, the primary analysis, the CONSORT flow.",
    migrations="rescue_followup:migrations",
    routers=[subjects.router, analysis.router, consort.router],
    consumed_topics=[ELIGIBILITY.name, PREDICTION.name, RANDOMIZATION.name],
    handlers=HANDLERS,
    bulk_paths=["/v1/analysis/pfs", "/v1/analysis/pfs/km.png", "/v1/analysis/pfs/km.svg"],
    unit_of_work=SqlFollowupUnitOfWork,
    request_examples=REQUEST_EXAMPLES,
    rules_beyond_schema=RULES_BEYOND_SCHEMA,
)


def create_app(settings: FollowupSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or FollowupSettings())
