"""Helpers of the randomization tests: callers, the other services' events, assertions.

Importable from the tests as `randomization_support` (the tests' conftest puts this folder on
the path).
"""

from __future__ import annotations

import uuid
from typing import Any

from harness import ELIGIBLE_FACTS
from pydantic import BaseModel
from sqlmodel import col, select

from rescue_randomization.adapters.tables import AuditEntry
from rescue_shared.contracts import new_event
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    SubjectScreened,
)
from rescue_shared.testing import RunningService, auth

SITE_USER = auth("S01", "site_user")
INVESTIGATOR = auth("S01", "investigator")
MONITOR = auth(None, "monitor")
STATISTICIAN = auth(None, "statistician")
ADMIN = auth(None, "admin")
HIGHLY_LIKELY = "highly_likely_complete_resection"


def envelope(payload: BaseModel, subject_id: str, site: str = "S01",
             producer: str = "eligibility") -> EventEnvelope[Any]:
    return new_event(payload, producer=producer, trial_id="NCT07295132", site_id=site,
                     subject_id=subject_id, correlation_id=str(uuid.uuid4()))


def screened(subject_id: str, site: str = "S01", outcome: str = "eligible",
             **facts: Any) -> EventEnvelope[Any]:
    clinical = {k: v for k, v in {**ELIGIBLE_FACTS, **facts}.items() if v is not None}
    return envelope(SubjectScreened(
        screening_id=uuid.uuid4(), screening_date="2026-03-02",
        protocol_version="1", outcome=outcome,
        awaiting_prediction=outcome == "eligible",
        failed_criteria=["INC-02"] if outcome == "ineligible" else [],
        missing_facts=["ecog"] if outcome == "incomplete" else [],
        clinical_facts=clinical), subject_id, site)


def confirmed(screening: EventEnvelope[Any]) -> EventEnvelope[Any]:
    return envelope(EligibilityConfirmed(screening_id=screening.payload.screening_id,
                                         protocol_version="1"),
                    screening.subject_id, screening.site_id)


def rejected(screening: EventEnvelope[Any]) -> EventEnvelope[Any]:
    return envelope(EligibilityRejected(
        screening_id=screening.payload.screening_id, protocol_version="1",
        failed_criteria=["INC-05"], reason="INC-05 not met: complete resection not highly likely"),
        screening.subject_id, screening.site_id)


def predicted(subject_id: str, version: int = 1, classification: str = HIGHLY_LIKELY,
              site: str = "S01") -> EventEnvelope[Any]:
    return envelope(PredictionCompleted(
        prediction_id=uuid.uuid4(), version=version,
        classification=classification,
        model_version="test", protocol_version="prediction-v1"), subject_id, site, "prediction")


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def audit_entries(service: RunningService) -> list[dict[str, Any]]:
    """The audit trail as stored, in chain order."""
    async with service.app.state.database.session() as session:
        rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.sequence)))).all()
    return [{"sequence": r.sequence, "type": r.entry_type, "actor": r.actor,
             "subject_id": r.subject_id, "details": r.details} for r in rows]
