"""Fixtures of the prediction service's integration tests: the service on a real database, and
subjects made known the way production learns them (the eligibility.screened handler)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

# The in-memory fakes (prediction_fakes.py) sit beside this file.
sys.path.insert(0, str(Path(__file__).parent))

from rescue_prediction.adapters.unit_of_work import SqlPredictionUnitOfWork
from rescue_prediction.app import DEFINITION
from rescue_prediction.entrypoints.events import on_subject_screened
from rescue_prediction.settings import PredictionSettings
from rescue_shared.contracts import new_event
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.testing import RunningService, run_service, settings_for

#: Facts of a candidate whose AGO score is positive (ECOG 0, no ascites, no residual disease).
AGO_POSITIVE_FACTS: dict[str, Any] = {
    "ecog": 0, "ascites_ml": 0, "residual_disease_primary_surgery": "none",
    "figo_stage_initial": "IIIC", "platinum_free_interval_months": 14.0,
    "ca125_at_recurrence_u_ml": 300.0, "age_years": 57,
}

Screen = Callable[..., Awaitable[None]]


@pytest.fixture
async def prediction(database_url: str) -> AsyncIterator[RunningService]:
    settings = settings_for(PredictionSettings, database_url=database_url,
                            messaging_enabled=False)
    async with run_service(DEFINITION, settings) as service:
        yield service


@pytest.fixture
def screened(prediction: RunningService) -> Screen:
    """Apply an eligibility.screened event for a subject, as the consumer would."""

    async def apply(subject_id: str, site_id: str = "S01", **facts: Any) -> None:
        event = new_event(
            SubjectScreened(screening_id=uuid.uuid4(), screening_date=date(2026, 3, 2),
                            protocol_version="1", outcome="eligible", awaiting_prediction=True,
                            clinical_facts=facts or AGO_POSITIVE_FACTS),
            producer="eligibility", trial_id="NCT07295132", site_id=site_id,
            subject_id=subject_id, correlation_id="test")
        database = prediction.app.state.database
        async with SqlPredictionUnitOfWork(database, prediction.settings) as uow:
            await on_subject_screened(uow, event)
            await uow.commit()

    return apply
