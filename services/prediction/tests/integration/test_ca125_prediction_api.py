"""CA-125 values in, a versioned, explainable prediction out (real database, both engines)."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
SITE_USER = auth("S01", "site_user")
START = "2026-01-05"
#: C0 = 1000 U/mL, K = 0.05 /day exactly (domain.md s.3): days 0, 14, 28, 42.
CLEAN = [(0, 1000.0), (14, 1000 * math.exp(-0.7)), (28, 1000 * math.exp(-1.4)),
         (42, 1000 * math.exp(-2.1))]


def day(n: int) -> str:
    return str(date.fromisoformat(START) + timedelta(days=n))


def series(points: list[tuple[int, float]], unit: str = "U/mL") -> dict[str, Any]:
    return {"chemotherapy_start_date": START,
            "measurements": [{"date": day(d), "value": v, "unit": unit} for d, v in points]}


async def post(service: RunningService, subject_id: str, body: dict[str, Any],
               headers: dict[str, str] = SITE_USER) -> Any:
    return await service.client.post(f"/v1/subjects/{subject_id}/ca125", json=body,
                                      headers=headers)


async def staged_predictions(service: RunningService, subject_id: str) -> list[int]:
    """Versions of prediction.completed staged in the outbox for the subject."""
    async with service.app.state.database.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.event_type == "prediction.completed",
            OutboxMessage.message_key == subject_id).order_by(col(OutboxMessage.id)))).all()
    return [json.loads(r.value)["payload"]["version"] for r in rows]


def sig4(x: float) -> float:
    return float(f"{x:.4g}")


async def test_a_clean_exponential_series_gives_its_k_and_a_favourable_prediction(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0001")
    response = await post(prediction, "S01-0001", series(CLEAN))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["added"] == 4 and receipt["new_prediction_version"] is True

    body = (await prediction.client.get("/v1/subjects/S01-0001/prediction",
                                        headers=SITE_USER)).json()
    local = body["kelim"]["local"]
    assert sig4(body["kelim"]["k_per_day"]) == 0.05
    assert sig4(local["half_life_days"]) == 13.86
    assert sig4(body["kelim"]["standardized"]) == sig4(0.05 / 0.037)
    assert local["n_used"] == 4 and local["r_squared"] == pytest.approx(1.0, abs=1e-12)
    assert body["kelim"]["source"] == "local_estimate"
    assert "not the official KELIM" in body["kelim"]["label"]
    assert body["classification"] == "highly_likely_complete_resection"
    assert body["ago"]["status"] == "positive"
    # iMODEL 0.8 (FIGO IIIC) + 2.4 (PFI 14 < 16) + 1.8 (CA-125 300 > 105): high risk, AGO suffices
    assert body["imodel"]["total"] == pytest.approx(5.0) and body["imodel"]["status"] == "high_risk"
    assert body["gcig"]["status"] == "response" and body["gcig"]["baseline_u_ml"] == 1000
    assert body["version"] == 1 and body["superseded"] is False
    assert body["protocol_version"] == "prediction-v1"
    assert body["model_version"] == "local-loglinear-1"
    assert any("k_ref_per_day" in a for a in body["assumptions"])
    assert [m["day"] for m in body["inputs"]["ca125"]] == [0, 14, 28, 42]
    assert body["inputs"]["clinical_facts"]["ecog"] == 0
    assert "age_years" not in body["inputs"]["clinical_facts"]
    assert body["reasons"][-1].endswith("highly_likely_complete_resection")
    assert await staged_predictions(prediction, "S01-0001") == [1]


async def test_units_are_normalised_and_a_resent_value_changes_nothing(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0002")
    first = await post(prediction, "S01-0002", series(CLEAN, unit="kU/L"))
    assert first.status_code == 201
    stored = first.json()["measurements"][0]
    assert stored["value_u_ml"] == 1000 and stored["original_unit"] == "kU/L"
    assert stored["source"] == "json"

    again = await post(prediction, "S01-0002", series(CLEAN[:2], unit="U/mL"))
    assert again.status_code == 200
    assert again.json()["added"] == 0 and again.json()["already_known"] == 2
    assert again.json()["new_prediction_version"] is False
    history = (await prediction.client.get("/v1/subjects/S01-0002/predictions",
                                           headers=SITE_USER)).json()
    assert [p["version"] for p in history] == [1]
    assert await staged_predictions(prediction, "S01-0002") == [1]


async def test_a_conflicting_value_for_a_known_date_is_409_and_stores_nothing(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0003")
    await post(prediction, "S01-0003", series(CLEAN[:2]))
    response = await post(prediction, "S01-0003", series([(14, 600.0), (28, 250.0)]))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "measurements.0.value"
    assert "496.585 U/mL" in response.json()["detail"] and "600 U/mL" in response.json()["detail"]
    values = (await prediction.client.get("/v1/subjects/S01-0003/ca125",
                                          headers=SITE_USER)).json()
    assert [v["date"] for v in values] == [day(0), day(14)]


async def test_the_same_number_with_another_detection_limit_qualifier_is_a_conflict(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0013")
    below = {"date": day(0), "value": 5.0, "unit": "U/mL", "comparator": "<"}
    first = await post(prediction, "S01-0013", {"chemotherapy_start_date": day(0),
                                                "measurements": [below]})
    assert first.status_code == 201, first.text
    plain = {**below, "comparator": None}
    response = await post(prediction, "S01-0013", {"chemotherapy_start_date": day(0),
                                                   "measurements": [plain]})
    assert response.status_code == 409, response.text
    assert "< 5 U/mL" in response.json()["detail"]
    [stored] = (await prediction.client.get("/v1/subjects/S01-0013/ca125",
                                            headers=SITE_USER)).json()
    assert stored["censoring"] == "below_detection_limit"


@pytest.mark.parametrize(("measurement", "field", "rule"), [
    ({"date": day(14), "value": 0, "unit": "U/mL"}, "measurements.1.value", "greater_than"),
    ({"date": day(14), "value": -3, "unit": "U/mL"}, "measurements.1.value", "greater_than"),
    ({"date": day(14), "value": 1_000_001, "unit": "U/mL"}, "measurements.1.value",
     "less_than_equal"),
    ({"date": day(14), "value": 500, "unit": "mg/dL"}, "measurements.1.unit", "value_error"),
    ({"date": str(date.today() + timedelta(days=2)), "value": 500, "unit": "U/mL"},
     "measurements.1.date", "value_error"),
    ({"date": day(-15), "value": 500, "unit": "U/mL"}, "measurements.1.date", "before_window"),
    ({"date": day(14), "value": 500, "unit": "U/mL", "loinc": "11210-2"},
     "measurements.1.loinc", "value_error"),
])
async def test_bad_input_is_422_naming_the_field_and_nothing_is_stored(
    prediction: RunningService, screened: Any, measurement: dict[str, Any], field: str,
    rule: str,
) -> None:
    await screened("S01-0004")
    body = {"chemotherapy_start_date": START, "measurements": [
        {"date": day(0), "value": 1000, "unit": "U/mL"}, measurement]}
    response = await post(prediction, "S01-0004", body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["field"], e["rule"]) for e in errors] == [(field, rule)]
    values = await prediction.client.get("/v1/subjects/S01-0004/ca125", headers=SITE_USER)
    assert values.json() == []
    assert (await prediction.client.get("/v1/subjects/S01-0004/prediction",
                                        headers=SITE_USER)).status_code == 404


async def test_only_ones_own_site_writes_a_subjects_values(
    prediction: RunningService, screened: Any,
) -> None:
    # Not screened yet: accepted and kept for the caller's site (test_early_values.py)
    unknown = await post(prediction, "S01-9999", series(CLEAN))
    assert unknown.status_code == 202, unknown.text
    assert unknown.json()["status"] == "awaiting_screening"
    assert unknown.json()["prediction"] is None
    # ...and from then on hers: another site cannot write, nor learn she exists
    foreign = await post(prediction, "S01-9999", series(CLEAN), headers=auth("S02", "site_user"))
    assert foreign.status_code == 404 and foreign.json()["detail"] == (
        "subject S01-9999 not found at your site")
    siteless = await post(prediction, "S01-9998", series(CLEAN), headers=auth(None, "site_user"))
    assert siteless.status_code == 404
    await screened("S02-0001", site_id="S02")
    other_site = await post(prediction, "S02-0001", series(CLEAN))
    assert other_site.status_code == 404
    monitor = await post(prediction, "S02-0001", series(CLEAN), headers=auth(None, "monitor"))
    assert monitor.status_code == 403
    assert (await post(prediction, "S02-0001", series(CLEAN),
                       headers=auth("S02", "investigator"))).status_code == 201
    statistician = await prediction.client.get("/v1/subjects/S02-0001/prediction",
                                               headers=auth(None, "statistician"))
    assert statistician.status_code == 200
    assert (await prediction.client.get("/v1/subjects/S02-0001/prediction",
                                        headers=SITE_USER)).status_code == 404


async def test_a_changed_chemotherapy_start_is_409(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0005")
    await post(prediction, "S01-0005", series(CLEAN[:2]))
    body = {**series(CLEAN[2:]), "chemotherapy_start_date": day(1)}
    response = await post(prediction, "S01-0005", body)
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "chemotherapy_start_date"


async def test_new_values_supersede_the_prediction_with_a_new_version(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0006")
    first = await post(prediction, "S01-0006", series(CLEAN[:2]))
    assert first.json()["prediction"]["classification"] == "insufficient_data"
    assert any("needs >= 3 CA-125 values" in m for m in first.json()["prediction"]["missing"])
    second = await post(prediction, "S01-0006", series(CLEAN[2:3]))
    assert second.json()["prediction"]["classification"] == "highly_likely_complete_resection"
    # a value after the 50-day window changes neither K nor the classification: no new version
    late = await post(prediction, "S01-0006", series([(70, 20.0)]))
    assert late.json()["added"] == 1 and late.json()["new_prediction_version"] is False

    history = (await prediction.client.get("/v1/subjects/S01-0006/predictions",
                                           headers=SITE_USER)).json()
    assert [(p["version"], p["superseded"], p["classification"]) for p in history] == [
        (1, True, "insufficient_data"), (2, False, "highly_likely_complete_resection")]
    assert await staged_predictions(prediction, "S01-0006") == [1, 2]


async def test_an_official_kelim_takes_precedence_and_is_labelled(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0007")
    await post(prediction, "S01-0007", series(CLEAN))
    official = {"value": 0.72, "source": "biomarker-kinetics.org", "version": "2024.1"}
    response = await prediction.client.post("/v1/subjects/S01-0007/kelim-external",
                                            json=official, headers=SITE_USER)
    assert response.status_code == 201, response.text
    body = response.json()["prediction"]
    assert body["version"] == 2 and body["trigger"] == "kelim_external"
    assert body["kelim"]["source"] == "official_calculator"
    assert "official calculator: biomarker-kinetics.org, version 2024.1" in body["kelim"]["label"]
    assert body["kelim"]["standardized"] == 0.72
    assert body["classification"] == "not_highly_likely"
    assert sig4(body["kelim"]["local"]["k_per_day"]) == 0.05  # still reported, superseded
    assert body["inputs"]["official_kelim"]["source"] == "biomarker-kinetics.org"
    again = await prediction.client.post("/v1/subjects/S01-0007/kelim-external",
                                         json=official, headers=SITE_USER)
    assert again.status_code == 200 and again.json()["new_prediction_version"] is False
    assert await staged_predictions(prediction, "S01-0007") == [1, 2]


async def test_new_screening_facts_recompute_the_prediction(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0008")
    await post(prediction, "S01-0008", series(CLEAN))
    await screened("S01-0008", ecog=2, ascites_ml=800, residual_disease_primary_surgery=">=1cm",
                   figo_stage_initial="IVA", platinum_free_interval_months=8,
                   ca125_at_recurrence_u_ml=300)
    body = (await prediction.client.get("/v1/subjects/S01-0008/prediction",
                                        headers=SITE_USER)).json()
    assert body["version"] == 2 and body["trigger"] == "screening"
    assert body["classification"] == "not_highly_likely"
    assert body["ago"]["status"] == "negative" and body["imodel"]["status"] == "high_risk"
    subject = (await prediction.client.get("/v1/subjects/S01-0008", headers=SITE_USER)).json()
    assert subject["screenings_seen"] == 2


async def test_the_plot_is_a_real_png_and_an_svg_with_its_parts(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0009")
    assert (await prediction.client.get("/v1/subjects/S01-0009/ca125/plot.png",
                                        headers=SITE_USER)).status_code == 404
    await post(prediction, "S01-0009", series([*CLEAN, (70, 20.0)]))
    png = await prediction.client.get("/v1/subjects/S01-0009/ca125/plot.png", headers=SITE_USER)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n") and len(png.content) > 5000
    svg = await prediction.client.get("/v1/subjects/S01-0009/ca125/plot.svg", headers=SITE_USER)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    text = svg.text
    for part in ("ca125-used", "ca125-excluded", "fitted-decline", "kelim-window", "uln"):
        assert f'id="{part}"' in text, part
    assert "ULN 35 U/mL" in text and "K = 0.05/day" in text and "log scale" in text


async def test_two_sites_systems_racing_on_one_date_store_one_value_and_one_version(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0010")
    responses = await asyncio.gather(
        post(prediction, "S01-0010", series(CLEAN)),
        post(prediction, "S01-0010", series([(0, 1000.0), (14, 700.0), (28, 400.0)])),
        post(prediction, "S01-0010", series(CLEAN)),
    )
    codes = sorted(r.status_code for r in responses)
    # serialized per subject: whichever series wins, the other conflicts, the repeat is a no-op
    assert codes in ([200, 201, 409], [201, 409, 409]), codes
    values = (await prediction.client.get("/v1/subjects/S01-0010/ca125",
                                          headers=SITE_USER)).json()
    assert len({v["date"] for v in values}) == len(values)
    history = (await prediction.client.get("/v1/subjects/S01-0010/predictions",
                                           headers=SITE_USER)).json()
    assert [p["version"] for p in history] == list(range(1, len(history) + 1))
    assert await staged_predictions(prediction, "S01-0010") == [p["version"] for p in history]
