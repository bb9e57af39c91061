"""What the prediction use cases append to the audit trail, on in-memory fakes."""

from __future__ import annotations

import math
import uuid
from datetime import date, timedelta

import pytest
from prediction_fakes import FakePredictionUnitOfWork

from rescue_prediction.domain.units import Ca125Observation
from rescue_prediction.service_layer.ca125 import (
    Ca125CorrectionRequest,
    Ca125Values,
    correct_ca125,
    record_ca125,
)
from rescue_prediction.service_layer.screening import Screening, subject_screened
from rescue_shared.audit.chain import verify_entries
from rescue_shared.auth import Principal
from rescue_shared.errors import Conflict

START = date(2026, 1, 5)
CLEAN = [(0, 1000.0), (14, 1000 * math.exp(-0.7)), (28, 1000 * math.exp(-1.4)),
         (42, 1000 * math.exp(-2.1))]
FACTS = {"ecog": 0, "ascites_ml": 0, "residual_disease_primary_surgery": "none",
         "figo_stage_initial": "IIIC", "platinum_free_interval_months": 14.0}
NURSE = Principal(sub="nurse-1", site_id="S01", roles=frozenset({"site_user"}))
REASON = "transcription error in the lab report"


def obs(day: int, value: float) -> Ca125Observation:
    return Ca125Observation(effective_date=START + timedelta(days=day), value=value, unit="U/mL")


async def screened_with_values(uow: FakePredictionUnitOfWork, subject_id: str) -> None:
    await subject_screened(uow, Screening(
        subject_id=subject_id, site_id="S01", screening_id=str(uuid.uuid4()),
        outcome="eligible", clinical_facts=FACTS, event_id="event-1"))
    await uow.commit()
    await record_ca125(uow, NURSE, subject_id, Ca125Values(
        chemotherapy_start_date=START, measurements=[obs(d, v) for d, v in CLEAN]))


async def test_a_correction_shows_the_old_and_new_value_and_why() -> None:
    uow = FakePredictionUnitOfWork()
    await screened_with_values(uow, "S01-0001")
    await correct_ca125(uow, NURSE, "S01-0001",
                        Ca125CorrectionRequest(value=obs(42, 600.0), reason=REASON))
    entries = uow.audit_log.entries
    corrected = next(e for e in entries if e.action == "ca125.corrected")
    assert corrected.reason == REASON and corrected.actor == "nurse-1"
    assert corrected.before["value_u_ml"] == pytest.approx(CLEAN[3][1])
    assert corrected.after["value_u_ml"] == 600.0
    assert corrected.before["date"] == corrected.after["date"] == str(START + timedelta(42))
    made = [e for e in entries if e.action == "prediction.made"]
    assert [e.after["version"] for e in made] == [1, 2]
    assert made[1].before == made[0].after and made[1].actor == "nurse-1"
    assert entries[0].action == "screening.applied" and entries[0].event_id == "event-1"
    assert verify_entries(entries, uow.audit_log.head).valid


async def test_a_refused_correction_appends_nothing() -> None:
    uow = FakePredictionUnitOfWork()
    await screened_with_values(uow, "S01-0002")
    before = list(uow.audit_log.entries)
    with pytest.raises(Conflict):
        await correct_ca125(uow, NURSE, "S01-0002", Ca125CorrectionRequest(
            value=obs(0, 1000.0), reason=REASON))
    await uow.rollback()
    assert uow.audit_log.entries == before
