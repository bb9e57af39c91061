"""Composition root of the prediction service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_prediction import (
    api,
    calculator_api,
    corrections_api,
    fhir_api,
    plot_api,
    quarantine,
)
from rescue_prediction.handlers import HANDLERS
from rescue_prediction.settings import PredictionSettings
from rescue_shared.contracts.registry import ELIGIBILITY
from rescue_shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="prediction",
    title="RESCUE prediction service",
    description="CA-125 kinetics (KELIM) and the complete-resection prediction.",
    migrations="rescue_prediction:migrations",
    routers=[api.router, corrections_api.router, fhir_api.router, calculator_api.router,
             plot_api.router, quarantine.router],
    consumed_topics=[ELIGIBILITY.name],
    handlers=HANDLERS,
    bulk_paths=["/v1/kelim/batch", "/v1/fhir"],
)


def create_app(settings: PredictionSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or PredictionSettings())
