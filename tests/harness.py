"""Test harness: the four services running in-process against real Kafka and their databases.

Importable from every test (pytest puts tests/ on the path).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlmodel import func, select

from chaos.load import ELIGIBLE_FACTS  # one set of eligible facts for every test and campaign
from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_eligibility.settings import EligibilitySettings
from rescue_followup.adapters.tables import ScreeningRecord
from rescue_followup.app import DEFINITION as FOLLOWUP
from rescue_followup.settings import FollowupSettings
from rescue_prediction.app import DEFINITION as PREDICTION
from rescue_prediction.settings import PredictionSettings
from rescue_randomization.app import DEFINITION as RANDOMIZATION
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.testing import RunningService, auth, run_service, settings_for

SERVICES = {
    "eligibility": (ELIGIBILITY, EligibilitySettings),
    "prediction": (PREDICTION, PredictionSettings),
    "randomization": (RANDOMIZATION, RandomizationSettings),
    "followup": (FOLLOWUP, FollowupSettings),
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


SITE_USER = auth("S01", "site_user")


def new_subject() -> str:
    return f"S01-{uuid.uuid4().hex[:8]}"


async def screen(platform: Platform, subject_id: str, **headers: str) -> dict[str, Any]:
    response = await platform["eligibility"].client.post(
        "/v1/screenings",
        json={"subject_id": subject_id, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS},
        headers=SITE_USER | headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def seen_everywhere(platform: Platform, subject_id: str) -> dict[str, int]:
    """How many times each consumer applied the subject's screening event."""
    prediction = await platform["prediction"].client.get(
        f"/v1/subjects/{subject_id}", headers=SITE_USER)
    candidate = await platform["randomization"].client.get(
        f"/v1/candidates/{subject_id}", headers=SITE_USER)
    assert prediction.status_code == 200 and candidate.status_code == 200
    async with platform["followup"].app.state.database.session() as session:
        followup = (await session.exec(
            select(func.count()).select_from(ScreeningRecord)
            .where(ScreeningRecord.subject_id == subject_id))).one()
    assert followup >= 1
    return {"prediction": prediction.json()["screenings_seen"],
            "randomization": candidate.json()["screenings_seen"], "followup": followup}


async def duplicates_seen(platform: Platform, service: str) -> float:
    text = (await platform[service].client.get("/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("events_consumed_total{") and 'outcome="duplicate"' in line)
