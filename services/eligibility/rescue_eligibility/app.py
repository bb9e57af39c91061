"""Composition root of the eligibility service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_eligibility.adapters.unit_of_work import SqlEligibilityUnitOfWork
from rescue_eligibility.entrypoints.events import HANDLERS
from rescue_eligibility.entrypoints.http import access_refusals, criteria, screening_log, screenings
from rescue_eligibility.entrypoints.http.examples import REQUEST_EXAMPLES, RULES_BEYOND_SCHEMA
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.contracts.registry import PREDICTION
from rescue_shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="eligibility",
    title="RESCUE eligibility service",
    description="Screens candidates against the protocol's criteria; keeps the screening log.",
    migrations="rescue_eligibility:migrations",
    routers=[screenings.router, criteria.router, screening_log.router, access_refusals.router],
    consumed_topics=[PREDICTION.name],
    handlers=HANDLERS,
    unit_of_work=SqlEligibilityUnitOfWork,
    request_examples=REQUEST_EXAMPLES,
    rules_beyond_schema=RULES_BEYOND_SCHEMA,
)


def create_app(settings: EligibilitySettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or EligibilitySettings())
