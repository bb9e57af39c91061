"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from harness import Platform, start_platform


@pytest.fixture
async def platform(
    kafka_bootstrap: str, topic_namespace: str, database_urls: dict[str, str]
) -> AsyncIterator[Platform]:
    async with start_platform(kafka_bootstrap, topic_namespace, database_urls) as running:
        yield running
