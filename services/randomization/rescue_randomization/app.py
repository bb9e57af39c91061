"""Composition root of the randomization service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_randomization import (
    audit_api,
    balance_api,
    candidates_api,
    randomizations_api,
    trial_api,
)
from rescue_randomization.handlers import HANDLERS
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.contracts.registry import ELIGIBILITY, PREDICTION
from rescue_shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="randomization",
    title="RESCUE randomization service",
    description="Concealed, stratified 1:1 allocation with a tamper-evident audit trail.",
    migrations="rescue_randomization:migrations",
    routers=[candidates_api.router, randomizations_api.router, balance_api.router,
             audit_api.router, trial_api.router],
    consumed_topics=[ELIGIBILITY.name, PREDICTION.name],
    handlers=HANDLERS,
)


def create_app(settings: RandomizationSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or RandomizationSettings())
