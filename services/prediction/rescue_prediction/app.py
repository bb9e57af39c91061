"""Composition root of the prediction service: its definition and the app factory."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_prediction.adapters.unit_of_work import SqlPredictionUnitOfWork
from rescue_prediction.entrypoints.events import HANDLERS
from rescue_prediction.entrypoints.http import (
    calculators,
    corrections,
    fhir,
    figures,
    quarantine,
    subjects,
)
from rescue_prediction.entrypoints.http.examples import REQUEST_EXAMPLES, RULES_BEYOND_SCHEMA
from rescue_prediction.entrypoints.http.schemas import KelimBatchRequest
from rescue_prediction.service_layer import queries
from rescue_prediction.settings import PredictionSettings
from rescue_shared.audit import http as audit
from rescue_shared.contracts.events import PredictionQueryChanged
from rescue_shared.contracts.registry import ELIGIBILITY
from rescue_shared.queries.http import queries_router
from rescue_shared.service import ServiceDefinition, create_service_app

QUERIES = queries_router(PredictionQueryChanged, queries.site_of)

DEFINITION = ServiceDefinition(
    name="prediction",
    title="RESCUE prediction service",
    description="CA-125 kinetics (KELIM) and the complete-resection prediction.",
    migrations="rescue_prediction:migrations",
    routers=[subjects.router, corrections.router, fhir.router, calculators.router,
             figures.router, quarantine.router, QUERIES, audit.router],
    consumed_topics=[ELIGIBILITY.name],
    handlers=HANDLERS,
    bulk_paths=["/v1/kelim/batch", "/v1/fhir"],
    unit_of_work=SqlPredictionUnitOfWork,
    request_examples=REQUEST_EXAMPLES,
    rules_beyond_schema=RULES_BEYOND_SCHEMA,
    openapi_models=[KelimBatchRequest],  # POST /v1/kelim/batch reads JSON or CSV itself
)


def create_app(settings: PredictionSettings | None = None) -> FastAPI:
    app: FastAPI = create_service_app(DEFINITION, settings or PredictionSettings())
    return app
