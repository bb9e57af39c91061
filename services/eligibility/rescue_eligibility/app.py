"""Composition root of the eligibility service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_eligibility.api import router
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="eligibility",
    title="RESCUE eligibility service",
    description="Screens candidates against the protocol's criteria; keeps the screening log.",
    migrations="rescue_eligibility:migrations",
    routers=[router],
)


def create_app(settings: EligibilitySettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or EligibilitySettings())
