"""Composition root of the randomization service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_randomization.adapters.unit_of_work import SqlRandomizationUnitOfWork
from rescue_randomization.entrypoints.events import HANDLERS
from rescue_randomization.entrypoints.http import (
    audit,
    balance,
    candidates,
    randomizations,
    strata,
    trial,
)
from rescue_randomization.entrypoints.http.examples import REQUEST_EXAMPLES, RULES_BEYOND_SCHEMA
from rescue_randomization.service_layer import queries, query_audit
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.contracts.events import RandomizationQueryChanged
from rescue_shared.contracts.registry import ELIGIBILITY, PREDICTION
from rescue_shared.queries.http import queries_router
from rescue_shared.service import ServiceDefinition, create_service_app

QUERIES = queries_router(RandomizationQueryChanged, queries.site_of, queries.run_checks,
                         audit=query_audit.record_step)

DEFINITION = ServiceDefinition(
    name="randomization",
    title="RESCUE randomization service",
    description="Concealed, stratified 1:1 allocation with a tamper-evident audit trail.",
    migrations="rescue_randomization:migrations",
    routers=[candidates.router, randomizations.router, strata.router, balance.router, audit.router,
             trial.router, QUERIES],
    consumed_topics=[ELIGIBILITY.name, PREDICTION.name],
    handlers=HANDLERS,
    unit_of_work=SqlRandomizationUnitOfWork,
    request_examples=REQUEST_EXAMPLES,
    rules_beyond_schema=RULES_BEYOND_SCHEMA,
)


def create_app(settings: RandomizationSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or RandomizationSettings())
