"""Prediction's audit trail through its API on both engines: CA-125 values (JSON and FHIR) and
their corrections with the old and new value and why, the official KELIM, every prediction
version, the screenings the consumer applies and the values it quarantines; a failed request
leaves no entry; tampering and truncation are found."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from typing import Any

import pytest
from audit_checks import (
    as_user,
    assert_linked,
    assert_only_monitors_and_admins_read,
    assert_tampering_and_truncation_are_found,
    audit,
    edit,
    entries,
    verify,
)

from rescue_shared.testing import RunningService

pytestmark = pytest.mark.integration
NURSE = as_user("nurse-7", "S01", "site_user")
START = date(2026, 1, 5)
#: K = 0.05 /day exactly: a favourable decline.
CLEAN = [(0, 1000.0), (14, 1000 * math.exp(-0.7)), (28, 1000 * math.exp(-1.4)),
         (42, 1000 * math.exp(-2.1))]
REASON = "transcription error: the laboratory report reads 900 U/mL"


def day(n: int) -> str:
    return str(START + timedelta(days=n))


async def send_series(service: RunningService, subject_id: str,
                      headers: dict[str, str] = NURSE) -> Any:
    return await service.client.post(
        f"/v1/subjects/{subject_id}/ca125", headers=headers,
        json={"chemotherapy_start_date": str(START), "measurements": [
            {"date": day(d), "value": v, "unit": "U/mL"} for d, v in CLEAN]})


async def correct(service: RunningService, subject_id: str, **body: Any) -> Any:
    return await service.client.post(
        f"/v1/subjects/{subject_id}/ca125/corrections", headers=NURSE,
        json={"date": day(42), "value": 900.0, "unit": "kU/L", "reason": REASON} | body)


def corrected_observation(subject_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "status": "corrected", "id": "lab-0",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "10334-1"}]},
        "subject": {"reference": f"Patient/{subject_id}"},
        "effectiveDateTime": f"{START}T08:30:00+01:00",
        "valueQuantity": {"value": 1100.0, "unit": "U/mL", "system": "http://unitsofmeasure.org",
                          "code": "U/mL"}}


async def test_every_change_is_an_entry_with_before_and_after(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0201")
    assert (await send_series(prediction, "S01-0201")).status_code == 201
    assert (await correct(prediction, "S01-0201")).status_code == 201
    kelim = await prediction.client.post(
        "/v1/subjects/S01-0201/kelim-external", headers=NURSE,
        json={"value": 1.4, "source": "biomarker-kinetics.org", "version": "2024.1"})
    assert kelim.status_code in (200, 201), kelim.text
    fhir = await prediction.client.post(
        "/v1/fhir/Observation", content=json.dumps(corrected_observation("S01-0201")),
        headers=NURSE | {"Content-Type": "application/fhir+json"})
    assert fhir.status_code in (200, 201), fhir.text

    trail = await entries(prediction, subject_id="S01-0201")
    actions = [e["action"] for e in trail]
    assert actions == ["screening.applied", "chemotherapy_start.recorded", "ca125.recorded",
                       "prediction.made", "ca125.corrected", "prediction.made",
                       "kelim.external_recorded", "prediction.made", "ca125.corrected"]
    assert_linked(trail)
    screening = trail[0]
    assert screening["actor"] == "system:consumer" and screening["event_id"]
    assert screening["before"]["latest_screening_id"] is None
    assert screening["after"]["latest_screening_id"] is not None
    values = trail[2]
    assert values["actor"] == "nurse-7" and values["before"] is None
    assert [v["date"] for v in values["after"]["values"]] == [day(d) for d, _ in CLEAN]
    assert [v["value_u_ml"] for v in values["after"]["values"]] == [v for _, v in CLEAN]
    first = trail[3]
    assert first["before"] is None and first["after"]["version"] == 1
    assert first["after"]["classification"] == "highly_likely_complete_resection"

    correction, second = trail[4], trail[5]
    assert correction["reason"] == REASON and correction["actor"] == "nurse-7"
    assert correction["before"]["value_u_ml"] == pytest.approx(CLEAN[3][1])
    assert correction["after"]["value_u_ml"] == 900.0
    assert correction["after"]["original_unit"] == "kU/L"
    assert second["before"] == first["after"]
    assert second["after"]["version"] == 2 and second["after"]["trigger"] == "correction"

    official = trail[6]
    assert official["before"] is None
    assert official["after"] | {"computed_on": None} == {
        "value": 1.4, "scale": "standardized", "source": "biomarker-kinetics.org",
        "version": "2024.1", "computed_on": None, "received_by": "nurse-7"}
    assert trail[7]["after"]["kelim_source"] != second["after"]["kelim_source"]
    lab = trail[8]
    assert lab["before"]["value_u_ml"] == 1000.0 and lab["after"]["value_u_ml"] == 1100.0
    assert "corrected" in lab["reason"] and lab["after"]["source"] == "json"
    assert (await verify(prediction))["valid"] is True


async def test_a_failed_request_leaves_no_entry(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0202")
    assert (await send_series(prediction, "S01-0202")).status_code == 201
    total = (await audit(prediction))["total"]
    assert (await correct(prediction, "S01-0202", reason="typo")).status_code == 422
    conflicting = await prediction.client.post(
        "/v1/subjects/S01-0202/ca125", headers=NURSE,
        json={"chemotherapy_start_date": str(START), "measurements": [
            {"date": day(0), "value": 5.0, "unit": "U/mL"},
            {"date": day(7), "value": 700.0, "unit": "U/mL"}]})
    assert conflicting.status_code == 409
    assert (await audit(prediction))["total"] == total


async def test_values_quarantined_by_the_consumer_are_recorded_with_why(
    prediction: RunningService, screened: Any,
) -> None:
    s02 = as_user("doctor-2", "S02", "investigator")
    assert (await send_series(prediction, "S01-0300", s02)).status_code == 202
    await screened("S01-0300", site_id="S01")
    trail = await entries(prediction, subject_id="S01-0300")
    quarantined = next(e for e in trail if e["action"] == "inputs.quarantined")
    assert quarantined["actor"] == "system:consumer" and quarantined["site_id"] == "S02"
    assert "screened at site S01, values sent by site S02" in quarantined["reason"]
    assert sorted(i["kind"] for i in quarantined["before"]) == [
        "ca125"] * 4 + ["chemotherapy_start_date"]
    assert quarantined["after"] is None
    assert trail[-1]["action"] == "screening.applied" and trail[-1]["after"]["site_id"] == "S01"


async def test_an_edited_correction_is_found(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0203")
    assert (await send_series(prediction, "S01-0203")).status_code == 201
    assert (await correct(prediction, "S01-0203")).status_code == 201
    corrected = (await audit(prediction, action="ca125.corrected"))["entries"][0]
    await edit(prediction, "UPDATE audit_entry SET after = '{\"value_u_ml\": 95.0}' "
                           f"WHERE sequence = {corrected['sequence']}")
    result = await verify(prediction)
    assert result["valid"] is False and result["problem"] == "hash_mismatch"
    assert result["first_bad_entry"] == corrected["sequence"]


async def test_roles_tampering_and_truncation(prediction: RunningService, screened: Any) -> None:
    await screened("S01-0204")
    assert (await send_series(prediction, "S01-0204")).status_code == 201
    await assert_only_monitors_and_admins_read(prediction, "S01")
    await assert_tampering_and_truncation_are_found(prediction)
