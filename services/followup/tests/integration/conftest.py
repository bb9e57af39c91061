"""Fixtures of the follow-up integration tests: the service on a real database (both engines).

`deliver` applies an event envelope with the service's own handler in a unit of work, as the
consumer does after its inbox check (the Kafka path itself is tested in test_kafka_flow.py).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from pydantic import BaseModel
from sqlmodel import col, select

from rescue_followup.adapters.unit_of_work import SqlFollowupUnitOfWork
from rescue_followup.app import DEFINITION
from rescue_followup.entrypoints.events import HANDLERS
from rescue_followup.settings import FollowupSettings
from rescue_shared.contracts import new_event
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import RandomizationAssigned, RandomizationInvalidated
from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.testing import RunningService, auth, run_service, settings_for

TODAY = dt.date.today()


@pytest.fixture
async def followup(database_url: str) -> AsyncIterator[RunningService]:
    settings = settings_for(FollowupSettings, database_url=database_url,
                            messaging_enabled=False)
    async with run_service(DEFINITION, settings) as service:
        yield service


def envelope(payload: BaseModel, subject_id: str, site: str = "S01",
             producer: str = "randomization") -> EventEnvelope[Any]:
    return new_event(payload, producer=producer, trial_id="NCT07295132", site_id=site,
                     subject_id=subject_id, correlation_id=str(uuid.uuid4()))


@pytest.fixture
def deliver(followup: RunningService) -> Callable[[EventEnvelope[Any]], Awaitable[None]]:
    async def _deliver(event: EventEnvelope[Any]) -> None:
        async with SqlFollowupUnitOfWork(followup.app.state.database, followup.settings) as uow:
            await HANDLERS[type(event.payload)](uow, event)
            await uow.commit()

    return _deliver


@pytest.fixture
def announce(
    deliver: Callable[[EventEnvelope[Any]], Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    """Apply an event of another service carrying `payload` for a subject."""
    async def _announce(payload: BaseModel, subject_id: str, site: str = "S01",
                        producer: str = "eligibility") -> None:
        await deliver(envelope(payload, subject_id, site, producer))

    return _announce


@pytest.fixture
def register(
    deliver: Callable[[EventEnvelope[Any]], Awaitable[None]],
) -> Callable[..., Awaitable[EventEnvelope[Any]]]:
    async def _register(subject_id: str, *, site: str = "S01", arm: str = "SCS_CHEMO",
                        randomized: dt.date = TODAY - dt.timedelta(days=400),
                        stratum: dict[str, str] | None = None) -> EventEnvelope[Any]:
        event = envelope(RandomizationAssigned(
            randomization_number=f"R-{subject_id}", arm=arm,  # type: ignore[arg-type]
            stratum=stratum if stratum is not None else {"kelim": "favourable"},
            randomization_date=randomized, scheme="stratified-block-v1"), subject_id, site)
        await deliver(event)
        return event

    return _register


@pytest.fixture
def invalidate(
    deliver: Callable[[EventEnvelope[Any]], Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    async def _invalidate(subject_id: str, site: str = "S01") -> None:
        await deliver(envelope(RandomizationInvalidated(
            randomization_number=f"R-{subject_id}", reason="randomized twice by mistake",
            invalidated_by="dm-1", invalidated_at=dt.datetime.now(dt.UTC)), subject_id, site))

    return _invalidate


@pytest.fixture
def record(followup: RunningService) -> Callable[..., Awaitable[Any]]:
    """POST one record; returns the response."""
    async def _record(subject_id: str, body: dict[str, Any], site: str = "S01",
                      role: str = "site_user") -> Any:
        return await followup.client.post(f"/v1/subjects/{subject_id}/assessments", json=body,
                                          headers=auth(site, role))

    return _record


@pytest.fixture
def emitted(followup: RunningService) -> Callable[[], Awaitable[list[tuple[str, dict[str, Any]]]]]:
    """The events follow-up staged in its outbox, in order: (event_type, payload)."""
    async def _emitted() -> list[tuple[str, dict[str, Any]]]:
        async with followup.app.state.database.session() as session:
            rows = (await session.exec(select(OutboxMessage)
                                       .order_by(col(OutboxMessage.id)))).all()
        return [(r.event_type, json.loads(r.value)["payload"]) for r in rows]

    return _emitted
