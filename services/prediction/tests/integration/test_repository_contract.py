"""One contract for the prediction repositories, run against the in-memory fakes and the SQL
repositories on SQLite and PostgreSQL: what the use-case tests rely on holds in production."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from prediction_fakes import FakePredictionUnitOfWork

from rescue_prediction.adapters.unit_of_work import SqlPredictionUnitOfWork
from rescue_prediction.app import DEFINITION
from rescue_prediction.domain.kelim import OfficialKelim
from rescue_prediction.domain.model import (
    Ca125Correction,
    PredictionVersion,
    QuarantinedInput,
    ReceivedOfficialKelim,
    StoredCa125,
)
from rescue_prediction.settings import PredictionSettings
from rescue_shared.db.engine import Database
from rescue_shared.db.migrations import upgrade_to_head
from rescue_shared.testing import settings_for

UnitOfWork = FakePredictionUnitOfWork | SqlPredictionUnitOfWork
Units = Callable[[], contextlib.AbstractAsyncContextManager[Any]]
AT = datetime(2026, 2, 1, 9, 30, 15, 123456, tzinfo=UTC)
DAY0 = date(2026, 1, 5)


@pytest.fixture(params=["memory", "sql"])
async def units(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Units]:
    """Units of work on one store: successive units see what earlier ones committed."""
    if request.param == "memory":
        if "postgresql" in database_url:
            pytest.skip("the in-memory store is checked once (with the SQLite run)")
        fake = FakePredictionUnitOfWork()
        yield lambda: fake
        return
    await upgrade_to_head(database_url, DEFINITION.migrations)
    database = Database(database_url)
    settings = settings_for(PredictionSettings, database_url=database_url,
                            messaging_enabled=False)
    try:
        yield lambda: SqlPredictionUnitOfWork(database, settings)
    finally:
        await database.dispose()


def value(subject_id: str, day: int, u_ml: float, **extra: Any) -> StoredCa125:
    fields: dict[str, Any] = {
        "subject_id": subject_id, "effective_date": DAY0 + timedelta(days=day),
        "value_u_ml": u_ml, "original_value": u_ml, "original_unit": "U/mL",
        "loinc": "10334-1", "censoring": None, "source": "json", "fhir_id": None,
        "received_by": "user-s01", "received_at": AT} | extra
    return StoredCa125(**fields)


async def test_a_subject_is_created_once_for_the_first_site_and_saved(units: Units) -> None:
    async with units() as uow:
        assert await uow.subjects.get("S01-0001") is None
        assert await uow.subjects.lock("S01-0001") is None
        subject = await uow.subjects.lock_or_create("S01-0001", "S01")
        assert (subject.site_id, subject.awaiting_screening, subject.screenings_seen) == (
            "S01", True, 0)
        await uow.commit()
    async with units() as uow:
        subject = await uow.subjects.lock_or_create("S01-0001", "S02")
        assert subject.site_id == "S01"  # the first writer's site stays
        subject.record_screening("scr-1", "eligible", {"ecog": 0})
        subject.chemotherapy_start_date = DAY0
        subject.chemotherapy_start_recorded_by = "user-s01"
        await uow.subjects.save(subject)
        await uow.commit()
    async with units() as uow:
        found = await uow.subjects.get("S01-0001")
        assert found is not None and not found.awaiting_screening
        assert (found.latest_screening_id, found.latest_screening_outcome, found.clinical_facts,
                found.screenings_seen, found.chemotherapy_start_date,
                found.chemotherapy_start_recorded_by) == (
            "scr-1", "eligible", {"ecog": 0}, 1, DAY0, "user-s01")
        locked = await uow.subjects.lock("S01-0001")
        assert locked == found


async def test_a_series_comes_back_by_date_and_a_correction_replaces_its_day(
    units: Units,
) -> None:
    async with units() as uow:
        await uow.subjects.lock_or_create("S01-0002", "S01")
        await uow.ca125.add(value("S01-0002", 14, 500.0, source="fhir", fhir_id="obs-14"))
        await uow.ca125.add(value("S01-0002", 0, 1000.0))
        await uow.ca125.add(value("S01-0003", 0, 80.0, censoring="below_detection_limit"))
        await uow.commit()
    async with units() as uow:
        series = await uow.ca125.series("S01-0002")
        assert series == [value("S01-0002", 0, 1000.0),
                          value("S01-0002", 14, 500.0, source="fhir", fhir_id="obs-14")]
        [censored] = await uow.ca125.series("S01-0003")
        assert censored.censoring == "below_detection_limit"
        await uow.ca125.replace(value("S01-0002", 14, 0.6, original_value=0.6,
                                      original_unit="kU/L", loinc="83082-8",
                                      received_by="someone else"))
        await uow.commit()
    async with units() as uow:
        corrected = (await uow.ca125.series("S01-0002"))[1]
        assert (corrected.value_u_ml, corrected.original_unit, corrected.loinc) == (
            0.6, "kU/L", "83082-8")
        # what the site sent and when stays as it was
        assert (corrected.source, corrected.fhir_id, corrected.received_by) == (
            "fhir", "obs-14", "user-s01")
        await uow.ca125.remove_all("S01-0002")
        await uow.commit()
    async with units() as uow:
        assert await uow.ca125.series("S01-0002") == []
        assert len(await uow.ca125.series("S01-0003")) == 1


def correction(subject_id: str, n: int) -> Ca125Correction:
    return Ca125Correction(
        subject_id=subject_id, effective_date=DAY0, previous_value_u_ml=100.0 + n,
        previous_original_value=100.0 + n, previous_original_unit="U/mL",
        previous_censoring=None, value_u_ml=200.0 + n, original_value=200.0 + n,
        original_unit="U/mL", censoring=None, reason=f"transcription error number {n}",
        corrected_by="user-s01", corrected_at=AT)


def official(subject_id: str, kelim_value: float) -> ReceivedOfficialKelim:
    return ReceivedOfficialKelim(
        subject_id=subject_id, received_by="user-s01", received_at=AT,
        kelim=OfficialKelim(value=kelim_value, scale="per_day", source="biomarker-kinetics.org",
                            version="2", computed_on=DAY0))


async def test_corrections_and_official_kelims_keep_their_order(units: Units) -> None:
    async with units() as uow:
        assert await uow.official_kelims.latest("S01-0004") is None
        for n in (1, 2):
            await uow.corrections.add(correction("S01-0004", n))
        await uow.official_kelims.add(official("S01-0004", 0.05))
        await uow.official_kelims.add(official("S01-0004", 0.04))
        await uow.official_kelims.add(official("S01-0005", 0.09))
        await uow.commit()
    async with units() as uow:
        assert await uow.corrections.of_subject("S01-0004") == [
            correction("S01-0004", 1), correction("S01-0004", 2)]
        assert await uow.official_kelims.latest("S01-0004") == official("S01-0004", 0.04)
        assert await uow.official_kelims.of_subject("S01-0004") == [
            official("S01-0004", 0.05), official("S01-0004", 0.04)]
        await uow.corrections.remove_all("S01-0004")
        await uow.official_kelims.remove_all("S01-0004")
        await uow.commit()
    async with units() as uow:
        assert await uow.corrections.of_subject("S01-0004") == []
        assert await uow.official_kelims.of_subject("S01-0004") == []
        assert await uow.official_kelims.latest("S01-0005") == official("S01-0005", 0.09)


def version(subject_id: str, n: int) -> PredictionVersion:
    return PredictionVersion(
        prediction_id=f"00000000-0000-4000-8000-{n:012d}", subject_id=subject_id,
        site_id="S01", version=n, classification="insufficient_data", kelim_per_day=None,
        kelim_standardized=1.2 if n > 1 else None, kelim_source=None,
        model_version="local-loglinear-1", protocol_version="prediction-v1", trigger="ca125",
        result={"classification": "insufficient_data", "reasons": [f"version {n}"]},
        created_at=AT)


async def test_the_highest_prediction_version_is_in_force(units: Units) -> None:
    async with units() as uow:
        assert await uow.predictions.in_force("S01-0006") is None
        await uow.predictions.add(version("S01-0006", 2))
        await uow.predictions.add(version("S01-0006", 1))
        await uow.commit()
    async with units() as uow:
        assert await uow.predictions.in_force("S01-0006") == version("S01-0006", 2)
        assert await uow.predictions.versions("S01-0006") == [
            version("S01-0006", 1), version("S01-0006", 2)]
        assert await uow.predictions.versions("S01-0007") == []


def quarantined(subject_id: str, kind: Any, received_at: datetime | None) -> QuarantinedInput:
    return QuarantinedInput(
        subject_id=subject_id, kind=kind, sent_by_site_id="S02", screened_at_site_id="S01",
        screening_id="scr-1", received_by="user-s02", received_at=received_at,
        payload={"date": "2026-01-05", "value_u_ml": 812.0}, reason="screened elsewhere",
        quarantined_at=AT)


async def test_quarantined_items_are_listed_oldest_first_with_their_ids(units: Units) -> None:
    async with units() as uow:
        assert await uow.quarantine.items() == []
        await uow.quarantine.add_all([quarantined("S01-0008", "chemotherapy_start_date", None),
                                      quarantined("S01-0008", "ca125", AT)])
        await uow.quarantine.add_all([quarantined("S01-0009", "kelim_external", AT)])
        await uow.commit()
    async with units() as uow:
        items = await uow.quarantine.items()
        assert [(i.subject_id, i.kind) for i in items] == [
            ("S01-0008", "chemotherapy_start_date"), ("S01-0008", "ca125"),
            ("S01-0009", "kelim_external")]
        ids = [i.id for i in items]
        assert None not in ids and ids == sorted(ids) and len(set(ids)) == 3
        [only] = await uow.quarantine.items("S01-0009")
        assert only.payload == {"date": "2026-01-05", "value_u_ml": 812.0}
        assert (only.received_at, only.quarantined_at) == (AT, AT)
        assert items[0].received_at is None
