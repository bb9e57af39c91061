"""Fixtures of the randomization tests: the service on a real database (both engines), and
`deliver`, which applies another service's event with the service's own handler in a unit of
work, as the consumer does after its inbox check (the Kafka path is tested in tests/e2e)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from randomization_support import confirmed, predicted, screened

from rescue_randomization.app import DEFINITION
from rescue_randomization.entrypoints.events import HANDLERS
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.testing import RunningService, auth, run_service, settings_for


@pytest.fixture
async def randomization(database_url: str) -> AsyncIterator[RunningService]:
    settings = settings_for(RandomizationSettings, database_url=database_url,
                            messaging_enabled=False)
    async with run_service(DEFINITION, settings) as service:
        yield service


Deliver = Callable[..., Awaitable[None]]


@pytest.fixture
def deliver(randomization: RunningService) -> Deliver:
    async def _deliver(*events: EventEnvelope[Any]) -> None:
        for event in events:
            async with DEFINITION.unit_of_work(randomization.app.state.database,
                                               randomization.settings) as uow:
                await HANDLERS[type(event.payload)](uow, event)
                await uow.commit()

    return _deliver


@pytest.fixture
def eligible(deliver: Deliver) -> Callable[..., Awaitable[str]]:
    """Make a subject randomizable: screened, confirmed, predicted highly likely."""
    async def _eligible(subject_id: str, site: str = "S01", **facts: Any) -> str:
        screening = screened(subject_id, site, **facts)
        await deliver(screening, confirmed(screening), predicted(subject_id, site=site))
        return subject_id

    return _eligible


@pytest.fixture
def randomize(randomization: RunningService) -> Callable[..., Awaitable[Any]]:
    async def _randomize(subject_id: str, site: str = "S01", role: str = "site_user",
                         consent: Any = True, maintenance: str | None = "none",
                         headers: dict[str, str] | None = None) -> Any:
        body: dict[str, Any] = {"subject_id": subject_id, "consent_confirmed": consent}
        if maintenance is not None:
            body["planned_maintenance"] = maintenance
        return await randomization.client.post(
            "/v1/randomizations", json=body, headers=headers or auth(site, role))

    return _randomize


