"""The prediction service's use cases on in-memory fakes: rules, refusals, what is emitted."""

from __future__ import annotations

import math
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from prediction_fakes import FakePredictionUnitOfWork

from rescue_prediction.domain.kelim import OfficialKelim
from rescue_prediction.domain.units import Ca125Observation, normalise_observation
from rescue_prediction.service_layer import calculators
from rescue_prediction.service_layer.ca125 import (
    Ca125CorrectionRequest,
    Ca125Values,
    LabResult,
    correct_ca125,
    list_ca125,
    list_corrections,
    record_ca125,
    record_fhir_observations,
)
from rescue_prediction.service_layer.curves import ca125_curve
from rescue_prediction.service_layer.official_kelim import record_official_kelim
from rescue_prediction.service_layer.predictions import prediction_in_force, prediction_versions
from rescue_prediction.service_layer.quarantine import list_quarantine
from rescue_prediction.service_layer.screening import Screening, subject_screened
from rescue_shared.auth import Principal
from rescue_shared.contracts.events import PredictionCompleted
from rescue_shared.errors import Conflict, Invalid, NotFound, TooLarge

START = date(2026, 1, 5)
CLEAN = [(0, 1000.0), (14, 1000 * math.exp(-0.7)), (28, 1000 * math.exp(-1.4)),
         (42, 1000 * math.exp(-2.1))]
AGO_POSITIVE: dict[str, Any] = {
    "ecog": 0, "ascites_ml": 0, "residual_disease_primary_surgery": "none",
    "figo_stage_initial": "IIIC", "platinum_free_interval_months": 14.0,
    "ca125_at_recurrence_u_ml": 300.0, "age_years": 57, "not_a_score_fact": True,
}
SITE_USER = Principal(sub="user-s01", site_id="S01", roles=frozenset({"site_user"}))
OTHER_SITE = Principal(sub="user-s02", site_id="S02", roles=frozenset({"site_user"}))
MONITOR = Principal(sub="monitor", site_id=None, roles=frozenset({"monitor"}))


def obs(day: int, value: float, **extra: Any) -> Ca125Observation:
    return Ca125Observation(effective_date=START + timedelta(days=day), value=value,
                            unit="U/mL", **extra)


def values(points: list[tuple[int, float]], start: date = START) -> Ca125Values:
    return Ca125Values(chemotherapy_start_date=start,
                       measurements=[obs(d, v) for d, v in points])


async def screen(uow: FakePredictionUnitOfWork, subject_id: str, site_id: str = "S01",
                 **facts: Any) -> None:
    await subject_screened(uow, Screening(
        subject_id=subject_id, site_id=site_id, screening_id=str(uuid.uuid4()),
        outcome="eligible", clinical_facts=facts or AGO_POSITIVE, event_id=str(uuid.uuid4())))
    await uow.commit()


@pytest.fixture
def uow() -> FakePredictionUnitOfWork:
    return FakePredictionUnitOfWork()


async def test_a_clean_series_stores_values_and_announces_a_favourable_prediction(
    uow: FakePredictionUnitOfWork,
) -> None:
    await screen(uow, "S01-0001")
    recorded = await record_ca125(uow, SITE_USER, "S01-0001", values(CLEAN))
    assert (recorded.added, recorded.already_known, recorded.start_is_new) == (4, 0, True)
    assert recorded.prediction is not None and recorded.new_prediction_version
    assert recorded.prediction.classification == "highly_likely_complete_resection"
    assert recorded.prediction.kelim_per_day == pytest.approx(0.05)
    [event] = uow.payloads(PredictionCompleted)
    assert (event.version, event.kelim_source) == (1, "local_estimate")
    # the prediction echoes the score facts only
    assert "not_a_score_fact" not in recorded.prediction.result["inputs"]["clinical_facts"]

    again = await record_ca125(uow, SITE_USER, "S01-0001", values(CLEAN))
    assert (again.added, again.already_known, again.new_prediction_version) == (0, 4, False)
    assert again.prediction == recorded.prediction
    assert len(uow.payloads(PredictionCompleted)) == 1


async def test_refusals_of_a_ca125_post_store_nothing(uow: FakePredictionUnitOfWork) -> None:
    await screen(uow, "S01-0002")
    await record_ca125(uow, SITE_USER, "S01-0002", values(CLEAN[:1]))
    with pytest.raises(Conflict) as conflict:
        await record_ca125(uow, SITE_USER, "S01-0002", values([(0, 999.0), (14, 500.0)]))
    assert conflict.value.title == "Conflicting CA-125 value"
    assert [e["field"] for e in conflict.value.extensions["errors"]] == ["measurements.0.value"]
    with pytest.raises(Conflict) as start:
        await record_ca125(uow, SITE_USER, "S01-0002", values(CLEAN, START + timedelta(days=1)))
    assert start.value.title == "Chemotherapy start differs"
    with pytest.raises(Invalid) as early:
        await record_ca125(uow, SITE_USER, "S01-0002", values([(-15, 1200.0), (14, 500.0)]))
    assert early.value.detail == "invalid field(s): measurements.0.date"
    with pytest.raises(NotFound):
        await record_ca125(uow, OTHER_SITE, "S01-0002", values(CLEAN))
    assert [m.effective_date for m in await uow.ca125.series("S01-0002")] == [START]


async def test_values_before_the_screening_wait_for_it_then_predict(
    uow: FakePredictionUnitOfWork,
) -> None:
    recorded = await record_ca125(uow, SITE_USER, "S01-0003", values(CLEAN))
    assert recorded.subject.awaiting_screening and recorded.prediction is None
    assert uow.payloads(PredictionCompleted) == []
    with pytest.raises(NotFound, match="her screening has not arrived"):
        await prediction_in_force(uow, SITE_USER, "S01-0003")

    await screen(uow, "S01-0003")
    [event] = uow.payloads(PredictionCompleted)
    assert event.classification == "highly_likely_complete_resection"
    assert uow.committed[-1].causation_id is not None
    version = await prediction_in_force(uow, SITE_USER, "S01-0003")
    assert version.trigger == "screening"


async def test_another_sites_early_values_are_quarantined_never_used(
    uow: FakePredictionUnitOfWork,
) -> None:
    await record_ca125(uow, OTHER_SITE, "S01-0004", values(CLEAN))
    await record_official_kelim(uow, OTHER_SITE, "S01-0004", OfficialKelim(
        value=1.2, source="biomarker-kinetics.org", version="2"))
    await screen(uow, "S01-0004", site_id="S01")
    assert uow.payloads(PredictionCompleted) == []
    assert await uow.ca125.series("S01-0004") == []
    assert await uow.official_kelims.latest("S01-0004") is None
    subject, series = await list_ca125(uow, SITE_USER, "S01-0004")
    assert (subject.site_id, subject.chemotherapy_start_date, series) == ("S01", None, [])
    items = await list_quarantine(uow, "S01-0004")
    assert sorted(i.kind for i in items) == ["ca125"] * 4 + [
        "chemotherapy_start_date", "kelim_external"]
    assert {i.sent_by_site_id for i in items} == {"S02"}
    assert all(i.id is not None for i in items)


async def test_a_screening_recomputes_only_a_subject_with_inputs(
    uow: FakePredictionUnitOfWork,
) -> None:
    await screen(uow, "S01-0005")
    await screen(uow, "S01-0005", ecog=2)
    assert uow.payloads(PredictionCompleted) == []
    subject, _ = await list_ca125(uow, SITE_USER, "S01-0005")
    assert subject.screenings_seen == 2 and subject.clinical_facts == {"ecog": 2}


async def test_an_official_kelim_takes_precedence_and_a_resend_changes_nothing(
    uow: FakePredictionUnitOfWork,
) -> None:
    await screen(uow, "S01-0006")
    await record_ca125(uow, SITE_USER, "S01-0006", values(CLEAN))
    official = OfficialKelim(value=0.8, source="biomarker-kinetics.org", version="2")
    recorded = await record_official_kelim(uow, SITE_USER, "S01-0006", official)
    assert not recorded.already_known and recorded.new_prediction_version
    assert recorded.prediction is not None
    assert recorded.prediction.kelim_source == "official_calculator"
    assert recorded.prediction.classification == "not_highly_likely"
    again = await record_official_kelim(uow, SITE_USER, "S01-0006", official)
    assert again.already_known and not again.new_prediction_version
    assert [v.version for v in await prediction_versions(uow, SITE_USER, "S01-0006")] == [1, 2]
    with pytest.raises(NotFound):
        await record_official_kelim(uow, OTHER_SITE, "S01-0006", official)


async def test_a_correction_keeps_the_earlier_value_and_supersedes_the_prediction(
    uow: FakePredictionUnitOfWork,
) -> None:
    await screen(uow, "S01-0007")
    await record_ca125(uow, SITE_USER, "S01-0007", values(CLEAN))
    corrected = await correct_ca125(uow, SITE_USER, "S01-0007", Ca125CorrectionRequest(
        value=obs(42, 600.0), reason="  transcription error in the lab report  "))
    assert corrected.correction.reason == "transcription error in the lab report"
    assert corrected.correction.previous_value_u_ml == pytest.approx(CLEAN[3][1])
    assert corrected.new_prediction_version and corrected.prediction is not None
    assert corrected.prediction.trigger == "correction"
    assert [m.value_u_ml for m in await uow.ca125.series("S01-0007")][-1] == 600.0
    assert len(await list_corrections(uow, SITE_USER, "S01-0007")) == 1


@pytest.mark.parametrize("reason", ["x.y z.w 1 2 3", "a b c d e f", "1 2 3 4 5 6 7", "typo"])
async def test_a_correction_needs_a_reason_of_three_words_of_letters(
    uow: FakePredictionUnitOfWork, reason: str,
) -> None:
    await screen(uow, "S01-0008")
    await record_ca125(uow, SITE_USER, "S01-0008", values(CLEAN))
    with pytest.raises(Invalid) as caught:
        await correct_ca125(uow, SITE_USER, "S01-0008",
                            Ca125CorrectionRequest(value=obs(42, 600.0), reason=reason))
    assert [(e["field"], e["rule"]) for e in caught.value.extensions["errors"]] == [
        ("reason", "min_words")]
    assert await uow.corrections.of_subject("S01-0008") == []


async def test_corrections_that_cannot_be_made_are_refused(
    uow: FakePredictionUnitOfWork,
) -> None:
    await screen(uow, "S01-0009")
    await record_ca125(uow, SITE_USER, "S01-0009", values(CLEAN))
    reason = "transcription error in report"
    with pytest.raises(NotFound) as no_value:
        await correct_ca125(uow, SITE_USER, "S01-0009",
                            Ca125CorrectionRequest(value=obs(7, 600.0), reason=reason))
    assert no_value.value.extensions["errors"][0]["field"] == "date"
    with pytest.raises(Conflict) as unchanged:
        await correct_ca125(uow, SITE_USER, "S01-0009",
                            Ca125CorrectionRequest(value=obs(42, CLEAN[3][1]), reason=reason))
    assert unchanged.value.title == "Nothing to correct"
    with pytest.raises(NotFound):
        await correct_ca125(uow, OTHER_SITE, "S01-0009",
                            Ca125CorrectionRequest(value=obs(42, 600.0), reason=reason))
    with pytest.raises(NotFound):  # a correction never creates a subject
        await correct_ca125(uow, SITE_USER, "S01-0999",
                            Ca125CorrectionRequest(value=obs(42, 600.0), reason=reason))
    assert "S01-0999" not in uow.subjects.rows


def lab(subject_id: str, day: int, value: float, status: str = "final",
        path: str = "Observation") -> LabResult:
    return LabResult(path=path, subject_id=subject_id, fhir_id=f"{subject_id}-{day}",
                     value=normalise_observation(obs(day, value)), status=status)


async def test_fhir_observations_are_stored_and_a_corrected_one_replaces_its_day(
    uow: FakePredictionUnitOfWork,
) -> None:
    await screen(uow, "S01-0010")
    await record_ca125(uow, SITE_USER, "S01-0010", values(CLEAN[:1]))
    bundle = [lab("S01-0010", d, v, path=f"Bundle.entry[{i}].resource")
              for i, (d, v) in enumerate(CLEAN)]
    recorded = await record_fhir_observations(uow, SITE_USER, bundle)
    assert recorded.fresh == [False, True, True, True] and recorded.awaiting == frozenset()
    assert [e.version for e in uow.payloads(PredictionCompleted)] == [1, 2]

    with pytest.raises(Conflict) as conflict:
        await record_fhir_observations(uow, SITE_USER, [lab("S01-0010", 42, 600.0)])
    assert [(e["field"], e["rule"]) for e in conflict.value.extensions["errors"]] == [
        ("Observation.valueQuantity", "conflict")]
    corrected = await record_fhir_observations(
        uow, SITE_USER, [lab("S01-0010", 42, 600.0, status="corrected")])
    assert corrected.fresh == [True]
    [history] = await uow.corrections.of_subject("S01-0010")
    assert "sent with status corrected by the laboratory" in history.reason


async def test_fhir_refusals_name_each_observation(uow: FakePredictionUnitOfWork) -> None:
    await screen(uow, "S02-0011", site_id="S02")
    await screen(uow, "S01-0011")
    await record_ca125(uow, SITE_USER, "S01-0011", values(CLEAN[:1]))
    with pytest.raises(NotFound) as other:
        await record_fhir_observations(uow, SITE_USER, [
            lab("S02-0011", 14, 500.0, path="Bundle.entry[0].resource"),
            lab("S01-0011", -20, 500.0, path="Bundle.entry[1].resource")])
    assert [(e["field"], e["rule"]) for e in other.value.extensions["errors"]] == [
        ("Bundle.entry[1].resource.effectiveDateTime", "value"),
        ("Bundle.entry[0].resource.subject", "not-found")]
    with pytest.raises(Invalid):
        await record_fhir_observations(uow, SITE_USER, [lab("S01-0011", -20, 500.0)])
    assert len(await uow.ca125.series("S01-0011")) == 1
    early = await record_fhir_observations(uow, SITE_USER, [lab("S01-0012", 0, 900.0)])
    assert early.awaiting == frozenset({"S01-0012"}) and early.fresh == [True]


async def test_reading_a_subject_is_for_her_site_and_trial_wide_roles(
    uow: FakePredictionUnitOfWork,
) -> None:
    await screen(uow, "S01-0013")
    await record_ca125(uow, SITE_USER, "S01-0013", values(CLEAN))
    with pytest.raises(NotFound, match="subject S01-0013 not found"):
        await list_ca125(uow, OTHER_SITE, "S01-0013")
    _, series = await list_ca125(uow, MONITOR, "S01-0013")
    assert len(series) == 4
    curve = await ca125_curve(uow, MONITOR, "S01-0013")
    assert curve.fit is not None and curve.fit.k_per_day == pytest.approx(0.05)
    assert curve.uln_u_ml == 35.0
    await screen(uow, "S01-0014")
    with pytest.raises(NotFound, match="no CA-125 values"):
        await ca125_curve(uow, SITE_USER, "S01-0014")
    with pytest.raises(NotFound, match="send CA-125 values or an official KELIM"):
        await prediction_in_force(uow, SITE_USER, "S01-0014")


def test_the_calculators_refuse_two_values_on_one_day_and_oversized_cohorts(
    uow: FakePredictionUnitOfWork,
) -> None:
    series = calculators.Series(chemotherapy_start_date=START,
                                measurements=[obs(0, 1000.0), obs(0, 900.0), obs(14, 500.0)])
    with pytest.raises(Invalid) as caught:
        calculators.calculate_kelim(uow.protocol, series)
    assert caught.value.detail == "invalid field(s): measurements.1.value"
    with pytest.raises(TooLarge) as too_many:
        calculators.calculate_kelim_batch(uow.protocol, [series] * 10_001)
    assert too_many.value.title == "Too many series"
    clean = calculators.Series(chemotherapy_start_date=START, id="a",
                               measurements=[obs(d, v) for d, v in CLEAN])
    single = calculators.calculate_kelim(uow.protocol, clean)
    [(series_id, summary)] = calculators.calculate_kelim_batch(uow.protocol, [clean]).results
    assert series_id == "a" and summary.k_per_day == pytest.approx(single.kinetics.k_per_day)


async def test_a_user_of_two_sites_writes_and_reads_for_both_not_a_third(
    uow: FakePredictionUnitOfWork,
) -> None:
    nurse = Principal(sub="n", roles=frozenset({"site_user"}), sites=frozenset({"S01", "S02"}))
    for subject_id, site in (("S01-0020", "S01"), ("S02-0020", "S02"), ("S03-0020", "S03")):
        await screen(uow, subject_id, site)
    for subject_id in ("S01-0020", "S02-0020"):
        assert (await record_ca125(uow, nurse, subject_id, values(CLEAN))).added == 4
        _, series = await list_ca125(uow, nurse, subject_id)
        assert len(series) == 4
    with pytest.raises(NotFound):
        await record_ca125(uow, nurse, "S03-0020", values(CLEAN))
    with pytest.raises(NotFound):
        await list_ca125(uow, nurse, "S03-0020")
    # Before her screening arrives, her site is unknown: not created for a user of two sites.
    with pytest.raises(NotFound):
        await record_ca125(uow, nurse, "S02-0021", values(CLEAN))
    assert await uow.subjects.get("S02-0021") is None
