"""Composition root of the eligibility service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_eligibility.adapters.unit_of_work import SqlEligibilityUnitOfWork
from rescue_eligibility.entrypoints.events import HANDLERS
from rescue_eligibility.entrypoints.http import (
    access_refusals,
    criteria,
    screening_log,
    screenings,
    subjects,
)
from rescue_eligibility.entrypoints.http.examples import REQUEST_EXAMPLES, RULES_BEYOND_SCHEMA
from rescue_eligibility.service_layer import queries
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.audit import http as audit
from rescue_shared.contracts.events import EligibilityQueryChanged
from rescue_shared.contracts.registry import PREDICTION
from rescue_shared.queries.http import queries_router
from rescue_shared.service import ServiceDefinition, create_service_app

QUERIES = queries_router(EligibilityQueryChanged, queries.site_of)

DEFINITION = ServiceDefinition(
    name="eligibility",
    title="RESCUE eligibility service",
    description="Screens candidates against the protocol's criteria; keeps the screening log.",
    migrations="rescue_eligibility:migrations",
    routers=[screenings.router, criteria.router, screening_log.router, access_refusals.router,
             subjects.router, audit.router, QUERIES],
    consumed_topics=[PREDICTION.name],
    handlers=HANDLERS,
    unit_of_work=SqlEligibilityUnitOfWork,
    request_examples=REQUEST_EXAMPLES,
    rules_beyond_schema=RULES_BEYOND_SCHEMA,
)


def create_app(settings: EligibilitySettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or EligibilitySettings())
