"""Test harness: the four services running in-process against real Kafka and their databases.

Importable from every test (pytest puts tests/ on the path).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_eligibility.settings import EligibilitySettings
from rescue_followup.app import DEFINITION as FOLLOWUP
from rescue_followup.settings import FollowupSettings
from rescue_prediction.app import DEFINITION as PREDICTION
from rescue_prediction.settings import PredictionSettings
from rescue_randomization.app import DEFINITION as RANDOMIZATION
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.testing import RunningService, run_service, settings_for

SERVICES = {
    "eligibility": (ELIGIBILITY, EligibilitySettings),
    "prediction": (PREDICTION, PredictionSettings),
    "randomization": (RANDOMIZATION, RandomizationSettings),
    "followup": (FOLLOWUP, FollowupSettings),
}

ELIGIBLE_FACTS: dict[str, Any] = {
    "age_years": 57, "histology": "high_grade_serous", "primary_site": "ovary",
    "recurrence_number": 1, "prior_chemotherapy_lines": 1,
    "platinum_free_interval_months": 14.0, "progressed_on_platinum": False, "nact_cycles": 3,
    "nact_platinum_based": True, "nact_response_recist": "PR", "nact_response_gcig_ca125": True,
    "ecog": 0, "ascites_ml": 0, "residual_disease_primary_surgery": "none",
    "figo_stage_initial": "IIIC", "unresectable_disease_on_imaging": False,
    "palliative_surgery_only": False,
}


@dataclass
class Platform:
    services: dict[str, RunningService]
    namespace: str
    bootstrap: str

    def __getitem__(self, name: str) -> RunningService:
        return self.services[name]


@contextlib.asynccontextmanager
async def start_platform(
    bootstrap: str, namespace: str, database_urls: dict[str, str], **overrides: Any
) -> AsyncIterator[Platform]:
    async with contextlib.AsyncExitStack() as stack:
        running = {}
        for name, (definition, settings_cls) in SERVICES.items():
            settings = settings_for(
                settings_cls, database_url=database_urls[name],
                kafka_bootstrap_servers=bootstrap, kafka_topic_namespace=namespace, **overrides,
            )
            running[name] = await stack.enter_async_context(run_service(definition, settings))
        yield Platform(running, namespace, bootstrap)
