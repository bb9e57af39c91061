"""Composition root of the eligibility service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_eligibility import api, criteria_api, refusals_api, screening_log_api
from rescue_eligibility.decisions import on_prediction_completed
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.contracts.registry import PREDICTION
from rescue_shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="eligibility",
    title="RESCUE eligibility service",
    description="Screens candidates against the protocol's criteria; keeps the screening log.",
    migrations="rescue_eligibility:migrations",
    routers=[api.router, criteria_api.router, screening_log_api.router, refusals_api.router],
    consumed_topics=[PREDICTION.name],
    handlers={"prediction.completed": on_prediction_completed},
)


def create_app(settings: EligibilitySettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or EligibilitySettings())
