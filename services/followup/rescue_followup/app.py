"""Composition root of the follow-up service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_followup.adapters.unit_of_work import SqlFollowupUnitOfWork
from rescue_followup.entrypoints.events import HANDLERS
from rescue_followup.entrypoints.http import analysis, consort, data_cuts, exports, subjects
from rescue_followup.entrypoints.http.examples import REQUEST_EXAMPLES, RULES_BEYOND_SCHEMA
from rescue_followup.service_layer import queries
from rescue_followup.settings import FollowupSettings
from rescue_shared.audit import http as audit
from rescue_shared.contracts.events import FollowupQueryChanged
from rescue_shared.contracts.registry import ELIGIBILITY, PREDICTION, RANDOMIZATION
from rescue_shared.queries.http import queries_router
from rescue_shared.service import ServiceDefinition, create_service_app

QUERIES = queries_router(FollowupQueryChanged, queries.site_of, queries.run_checks)

DEFINITION = ServiceDefinition(
    name="followup",
    title="RESCUE follow-up service",
    description="Assessments, progression and PFS, the primary analysis, the CONSORT flow.",
    migrations="rescue_followup:migrations",
    routers=[subjects.router, analysis.router, consort.router, exports.router,
             data_cuts.router, QUERIES, audit.router],
    consumed_topics=[ELIGIBILITY.name, PREDICTION.name, RANDOMIZATION.name],
    handlers=HANDLERS,
    bulk_paths=["/v1/analysis/pfs", "/v1/analysis/pfs/km.png", "/v1/analysis/pfs/km.svg"],
    unit_of_work=SqlFollowupUnitOfWork,
    request_examples=REQUEST_EXAMPLES,
    rules_beyond_schema=RULES_BEYOND_SCHEMA,
)


def create_app(settings: FollowupSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or FollowupSettings())
