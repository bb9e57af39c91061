"""Composition root of the follow-up service."""

from __future__ import annotations

from fastapi import FastAPI

from rescue_followup import analysis_api, consort_api, subjects_api
from rescue_followup.handlers import HANDLERS
from rescue_followup.settings import FollowupSettings
from rescue_shared.contracts.registry import ELIGIBILITY, PREDICTION, RANDOMIZATION
from rescue_shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="followup",
    title="RESCUE follow-up service",
    description="Assessments, progression and PFS, the primary analysis, the CONSORT flow.",
    migrations="rescue_followup:migrations",
    routers=[subjects_api.router, analysis_api.router, consort_api.router],
    consumed_topics=[ELIGIBILITY.name, PREDICTION.name, RANDOMIZATION.name],
    handlers=HANDLERS,
    bulk_paths=["/v1/analysis/pfs", "/v1/analysis/pfs/km.png", "/v1/analysis/pfs/km.svg"],
)


def create_app(settings: FollowupSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or FollowupSettings())
