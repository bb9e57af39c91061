"""Handlers are registered by payload model and checked against the contract registry."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_followup.app import DEFINITION as FOLLOWUP
from rescue_prediction.app import DEFINITION as PREDICTION
from rescue_randomization.app import DEFINITION as RANDOMIZATION
from rescue_shared.contracts.events import PredictionCompleted, SubjectScreened
from rescue_shared.contracts.registry import EVENT_TYPES, ContractError, event_type_of
from rescue_shared.messaging.consumer import handler_map
from rescue_shared.service import ServiceDefinition

DEFINITIONS = [ELIGIBILITY, PREDICTION, RANDOMIZATION, FOLLOWUP]


async def _noop(*_: object) -> None:
    return None


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
def test_each_service_handles_only_registered_events_of_the_topics_it_consumes(
    definition: ServiceDefinition,
) -> None:
    handled = handler_map(definition.handlers)
    for model in handled:
        assert event_type_of(model).topic.name in definition.consumed_topics, model.__name__


def test_an_event_type_name_stands_for_its_payload_models() -> None:
    names = {e.name for e in EVENT_TYPES}
    assert "eligibility.screened" in names
    assert handler_map({"eligibility.screened": _noop}) == {SubjectScreened: _noop}


def test_an_unregistered_payload_or_name_is_refused() -> None:
    class Stray(BaseModel):
        pass

    with pytest.raises(ContractError):
        handler_map({Stray: _noop})
    with pytest.raises(ContractError):
        handler_map({"prediction.completd": _noop})
    assert handler_map({PredictionCompleted: _noop}) == {PredictionCompleted: _noop}
