"""The eligibility service on the test database (both engines), messaging off: what the
integration tests call over its HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rescue_eligibility.app import DEFINITION
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.testing import RunningService, run_service, settings_for


@pytest.fixture
async def eligibility(database_url: str) -> AsyncIterator[RunningService]:
    settings = settings_for(EligibilitySettings, database_url=database_url,
                            messaging_enabled=False)
    async with run_service(DEFINITION, settings) as service:
        yield service
