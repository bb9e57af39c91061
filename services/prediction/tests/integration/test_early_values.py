"""Values that arrive before the subject's screening: kept for the writing site, used when
`eligibility.screened` arrives exactly as if they had come after it, quarantined when the
screening names another site. Every case is run with the events in reverse order (values first)
and compared with the normal order. Events are delivered the way the consumer applies them
(`on_subject_screened` in a unit of work; tests/e2e does the same through the broker)."""

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
MONITOR = auth(None, "monitor")
FHIR = {"Content-Type": "application/fhir+json"}
OFFICIAL = {"value": 0.72, "source": "biomarker-kinetics.org", "version": "2024.1"}
START = "2026-01-05"
#: C0 = 1000 U/mL, K = 0.05 /day exactly: days 0, 14, 28, 42 (as in test_ca125_prediction_api).
CLEAN = [(0, 1000.0), (14, 1000 * math.exp(-0.7)), (28, 1000 * math.exp(-1.4)),
         (42, 1000 * math.exp(-2.1))]


def day(n: int) -> str:
    return str(date.fromisoformat(START) + timedelta(days=n))


def series(points: list[tuple[int, float]]) -> dict[str, Any]:
    return {"chemotherapy_start_date": START,
            "measurements": [{"date": day(d), "value": v, "unit": "U/mL"} for d, v in points]}


async def post(service: RunningService, subject_id: str, body: dict[str, Any],
               headers: dict[str, str] = SITE_USER) -> Any:
    return await service.client.post(f"/v1/subjects/{subject_id}/ca125", json=body,
                                      headers=headers)


def observation(subject_id: str, n: int, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "10334-1"}]},
        "subject": {"reference": f"Patient/{subject_id}"},
        "effectiveDateTime": f"{day(n)}T08:30:00+01:00",
        "valueQuantity": {"value": value, "unit": "U/mL", "system": "http://unitsofmeasure.org",
                          "code": "U/mL"},
        **extra,
    }


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "POST", "url": "Observation"}} for r in resources]}


async def send(service: RunningService, path: str, body: Any,
               headers: dict[str, str] = FHIR | SITE_USER) -> Any:
    return await service.client.post(path, content=json.dumps(body), headers=headers)


async def staged_predictions(service: RunningService, subject_id: str) -> list[int]:
    return [p["version"] for p in await staged_payloads(service, subject_id)]


async def staged_payloads(service: RunningService, subject_id: str) -> list[dict[str, Any]]:
    """The prediction.completed payloads staged for the subject, without their ids."""
    async with service.app.state.database.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.event_type == "prediction.completed",
            OutboxMessage.message_key == subject_id).order_by(col(OutboxMessage.id)))).all()
    return [{k: v for k, v in json.loads(r.value)["payload"].items() if k != "prediction_id"}
            for r in rows]


async def prediction_of(service: RunningService, subject_id: str,
                        headers: dict[str, str] = SITE_USER) -> Any:
    return await service.client.get(f"/v1/subjects/{subject_id}/prediction", headers=headers)


def comparable(prediction: dict[str, Any]) -> dict[str, Any]:
    """What the prediction says, without what differs between two runs (ids, times, trigger)."""
    body = {k: v for k, v in prediction.items()
            if k not in ("prediction_id", "subject_id", "created_at", "trigger", "version")}
    inputs = dict(body["inputs"])
    inputs.pop("screening_id")
    inputs["ca125"] = [{k: v for k, v in m.items() if k != "received_at"}
                       for m in inputs["ca125"]]
    return body | {"inputs": inputs}


async def assert_awaiting(service: RunningService, subject_id: str, n_values: int) -> None:
    subject = await service.client.get(f"/v1/subjects/{subject_id}", headers=SITE_USER)
    assert subject.status_code == 200, subject.text
    assert subject.json()["status"] == "awaiting_screening"
    assert subject.json()["latest_screening_id"] is None and subject.json()["site_id"] == "S01"
    values = await service.client.get(f"/v1/subjects/{subject_id}/ca125", headers=SITE_USER)
    assert len(values.json()) == n_values
    missing = await prediction_of(service, subject_id)
    assert missing.status_code == 404 and "screening has not arrived" in missing.json()["detail"]
    assert await staged_predictions(service, subject_id) == []


async def test_json_values_sent_before_the_screening_are_used_when_it_arrives(
    prediction: RunningService, screened: Any,
) -> None:
    # reverse order: the values, then the screening
    early = await post(prediction, "S01-0301", series(CLEAN))
    assert early.status_code == 202, early.text
    receipt = early.json()
    assert receipt["status"] == "awaiting_screening" and receipt["prediction"] is None
    assert receipt["added"] == 4 and receipt["new_prediction_version"] is False
    assert "used" in receipt["note"] and "arrives" in receipt["note"]
    again = await post(prediction, "S01-0301", series(CLEAN[:2]))  # a resend changes nothing
    assert again.status_code == 202 and again.json()["added"] == 0
    conflict = await post(prediction, "S01-0301", series([(14, 600.0)]))
    assert conflict.status_code == 409  # the usual checks apply while she waits
    bad = await post(prediction, "S01-0301", series([(14, -1.0)]))
    assert bad.status_code == 422
    await assert_awaiting(prediction, "S01-0301", 4)
    await screened("S01-0301")

    # normal order, for comparison
    await screened("S01-0302")
    assert (await post(prediction, "S01-0302", series(CLEAN))).status_code == 201

    reverse, normal = [(await prediction_of(prediction, s)).json()
                       for s in ("S01-0301", "S01-0302")]
    assert reverse["classification"] == "highly_likely_complete_resection"
    assert comparable(reverse) == comparable(normal)
    assert (reverse["version"], reverse["trigger"]) == (1, "screening")
    assert await staged_payloads(prediction, "S01-0301") == await staged_payloads(
        prediction, "S01-0302")
    subject = (await prediction.client.get("/v1/subjects/S01-0301", headers=SITE_USER)).json()
    assert subject["status"] == "screened" and subject["screenings_seen"] == 1
    # from now on she is an ordinary screened subject
    later = await post(prediction, "S01-0301", series([(70, 20.0)]))
    assert later.status_code == 201 and later.json()["status"] == "screened"


async def test_fhir_observations_and_bundles_sent_before_the_screening_are_used(
    prediction: RunningService, screened: Any,
) -> None:
    values = [(0, 1000.0), (14, 496.585), (28, 246.597), (42, 122.456)]

    async def send_series(subject_id: str) -> list[Any]:
        first = observation(subject_id, *values[0], id="lab-1")
        rest = bundle(*[observation(subject_id, d, v) for d, v in values[1:]])
        start = {"chemotherapy_start_date": str(START), "measurements": []}
        return [await send(prediction, "/v1/fhir/Observation", first),
                await send(prediction, "/v1/fhir", rest),
                await post(prediction, subject_id, start)]

    one, many, start = await send_series("S01-0311")
    # 201: the Observation is created, as FHIR promises; the header says the prediction waits
    assert one.status_code == 201, one.text
    assert one.headers["x-subject-status"] == "awaiting_screening"
    assert many.status_code == 200 and many.headers["x-subject-status"] == "awaiting_screening"
    entries = many.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["201 Created"] * 3
    [info] = entries[0]["response"]["outcome"]["issue"]
    assert info["severity"] == "information" and "screening" in info["diagnostics"]
    assert start.status_code == 202 and start.json()["added"] == 0
    await assert_awaiting(prediction, "S01-0311", 4)
    await screened("S01-0311")

    await screened("S01-0312")
    one, many, start = await send_series("S01-0312")
    assert (one.status_code, many.status_code, start.status_code) == (201, 200, 201)
    assert one.headers["x-subject-status"] == "screened" and "outcome" not in str(many.json())

    reverse, normal = [(await prediction_of(prediction, s)).json()
                       for s in ("S01-0311", "S01-0312")]
    assert reverse["classification"] == "highly_likely_complete_resection"
    assert comparable(reverse) == comparable(normal)
    assert reverse["trigger"] == "screening"
    assert (await staged_payloads(prediction, "S01-0311"))[-1] == (
        await staged_payloads(prediction, "S01-0312"))[-1] | {"version": 1}
    assert len(await staged_payloads(prediction, "S01-0311")) == 1


async def test_an_official_kelim_and_a_correction_sent_before_the_screening_are_used(
    prediction: RunningService, screened: Any,
) -> None:
    async def send_all(subject_id: str, expected: tuple[int, int, int]) -> None:
        codes = [
            (await post(prediction, subject_id, series(CLEAN))).status_code,
            (await prediction.client.post(
                f"/v1/subjects/{subject_id}/ca125/corrections", headers=SITE_USER, json={
                    "date": day(42), "value": 130.0, "unit": "U/mL",
                    "reason": "transcription error at the lab"})).status_code,
            (await prediction.client.post(f"/v1/subjects/{subject_id}/kelim-external",
                                          json=OFFICIAL, headers=SITE_USER)).status_code]
        assert tuple(codes) == expected

    await send_all("S01-0321", (202, 201, 202))
    kelim = await prediction.client.post("/v1/subjects/S01-0321/kelim-external", json=OFFICIAL,
                                         headers=SITE_USER)
    assert kelim.status_code == 202 and kelim.json()["prediction"] is None
    assert kelim.json()["official_kelim"]["value"] == 0.72
    assert kelim.json()["status"] == "awaiting_screening"
    await assert_awaiting(prediction, "S01-0321", 4)
    await screened("S01-0321")

    await screened("S01-0322")
    await send_all("S01-0322", (201, 201, 201))

    reverse, normal = [(await prediction_of(prediction, s)).json()
                       for s in ("S01-0321", "S01-0322")]
    assert reverse["kelim"]["source"] == "official_calculator"
    assert reverse["classification"] == "not_highly_likely"
    assert comparable(reverse) == comparable(normal)
    assert (await staged_payloads(prediction, "S01-0321"))[-1] == (
        await staged_payloads(prediction, "S01-0322"))[-1] | {"version": 1}
    history = (await prediction.client.get("/v1/subjects/S01-0321/ca125/corrections",
                                           headers=SITE_USER)).json()
    assert [h["value_u_ml"] for h in history] == [130.0]


async def test_values_of_a_subject_screened_at_another_site_are_quarantined(
    prediction: RunningService, screened: Any,
) -> None:
    s02 = auth("S02", "investigator")
    subject = "S01-0331"
    assert (await post(prediction, subject, series(CLEAN[:3]), headers=s02)).status_code == 202
    assert (await send(prediction, "/v1/fhir/Observation", observation(subject, 42, 122.0),
                       headers=FHIR | s02)).status_code == 201
    assert (await prediction.client.post(
        f"/v1/subjects/{subject}/ca125/corrections", headers=s02, json={
            "date": day(28), "value": 250.0, "unit": "U/mL",
            "reason": "the lab re-ran the sample"})).status_code == 201
    assert (await prediction.client.post(f"/v1/subjects/{subject}/kelim-external",
                                         json=OFFICIAL, headers=s02)).status_code == 202
    # S01 cannot see S02's provisional subject, nor write to her
    assert (await prediction.client.get(f"/v1/subjects/{subject}",
                                        headers=SITE_USER)).status_code == 404

    await screened(subject, site_id="S01")  # the screening names S01

    known = (await prediction.client.get(f"/v1/subjects/{subject}", headers=SITE_USER)).json()
    assert (known["site_id"], known["status"]) == ("S01", "screened")
    assert known["chemotherapy_start_date"] is None
    assert (await prediction.client.get(f"/v1/subjects/{subject}/ca125",
                                        headers=SITE_USER)).json() == []
    assert (await prediction_of(prediction, subject)).status_code == 404
    assert await staged_predictions(prediction, subject) == []
    assert (await prediction.client.get(f"/v1/subjects/{subject}", headers=s02)).status_code == 404

    listing = await prediction.client.get(f"/v1/quarantine?subject_id={subject}", headers=MONITOR)
    assert listing.status_code == 200, listing.text
    items = listing.json()
    assert sorted(i["kind"] for i in items) == [
        "ca125", "ca125", "ca125", "ca125", "ca125_correction", "chemotherapy_start_date",
        "kelim_external"]
    assert {(i["sent_by_site_id"], i["screened_at_site_id"]) for i in items} == {("S02", "S01")}
    assert all("screened at site S01, values sent by site S02" in i["reason"] for i in items)
    assert all(i["received_by"] for i in items)
    values = {i["payload"]["date"]: i["payload"] for i in items if i["kind"] == "ca125"}
    assert values[day(28)]["value_u_ml"] == 250.0 and values[day(42)]["source"] == "fhir"
    assert [i["payload"] for i in items if i["kind"] == "chemotherapy_start_date"] == [
        {"chemotherapy_start_date": START}]
    assert [i["payload"]["value"] for i in items if i["kind"] == "kelim_external"] == [0.72]
    correction = next(i for i in items if i["kind"] == "ca125_correction")
    assert correction["payload"]["reason"] == "the lab re-ran the sample"
    assert (await prediction.client.get("/v1/quarantine", headers=auth(None, "admin"))).json() \
        == items
    assert (await prediction.client.get("/v1/quarantine", headers=SITE_USER)).status_code == 403
    assert (await prediction.client.get("/v1/quarantine", headers=auth(None, "statistician"))
            ).status_code == 403
    assert (await prediction.client.get("/v1/quarantine?subject_id=S01-0000",
                                        headers=MONITOR)).json() == []

    # her own site's values are then used as usual; the quarantined ones never
    assert (await post(prediction, subject, series(CLEAN))).status_code == 201
    body = (await prediction_of(prediction, subject)).json()
    assert body["kelim"]["source"] == "local_estimate"
    assert [m["value_u_ml"] for m in body["inputs"]["ca125"]] == [v for _, v in CLEAN]


async def test_a_screening_without_earlier_values_and_a_second_screening_change_nothing_else(
    prediction: RunningService, screened: Any,
) -> None:
    await screened("S01-0341")
    subject = (await prediction.client.get("/v1/subjects/S01-0341", headers=SITE_USER)).json()
    assert subject["status"] == "screened" and subject["first_seen_at"]
    await post(prediction, "S01-0341", series(CLEAN))
    await screened("S01-0341", site_id="S02")  # a re-screening never moves a screened subject
    assert (await prediction.client.get("/v1/subjects/S01-0341/ca125",
                                        headers=SITE_USER)).json() != []
    assert (await prediction.client.get("/v1/quarantine", headers=MONITOR)).json() == []


async def test_twenty_simultaneous_first_writes_for_an_unknown_subject_never_fail(
    prediction: RunningService, screened: Any,
) -> None:
    same = await asyncio.gather(*[post(prediction, "S01-0351", series(CLEAN))
                                  for _ in range(20)])
    assert [r.status_code for r in same] == [202] * 20, [r.text for r in same]
    bodies = [{k: v for k, v in r.json().items() if k not in ("added", "already_known")}
              for r in same]
    assert all(b == bodies[0] for b in bodies)  # the same result for everyone
    assert sorted(r.json()["added"] for r in same) == [0] * 19 + [4]

    # conflicting first writes: one value per day wins, the others are told so
    mixed = await asyncio.gather(*[
        post(prediction, "S01-0352", series([(0, 1000.0 + (i % 4)), (14, 500.0)]))
        for i in range(20)])
    codes = [r.status_code for r in mixed]
    assert set(codes) <= {202, 409} and codes.count(202) == 5, codes
    winner = next(r.json() for r in mixed if r.json().get("added"))["measurements"][0]
    for r in mixed:
        if r.status_code == 409:
            assert r.json()["errors"][0]["rule"] == "conflict"
            assert f"{winner['value_u_ml']:g} U/mL" in r.json()["detail"]
    stored = (await prediction.client.get("/v1/subjects/S01-0352/ca125",
                                          headers=SITE_USER)).json()
    assert [m["value_u_ml"] for m in stored] == [winner["value_u_ml"], 500.0]

    # FHIR first writes, and the screening racing with them
    fhir = [send(prediction, "/v1/fhir/Observation", observation("S01-0353", d, 900.0 - d))
            for d in range(0, 40, 2)]
    results = await asyncio.gather(*fhir, screened("S01-0353"))
    assert [r.status_code for r in results[:-1]] == [201] * 20
    assert len((await prediction.client.get("/v1/subjects/S01-0353/ca125",
                                            headers=SITE_USER)).json()) == 20
    subject = (await prediction.client.get("/v1/subjects/S01-0353", headers=SITE_USER)).json()
    assert subject["status"] == "screened" and subject["screenings_seen"] == 1


async def test_a_site_without_a_site_claim_or_another_site_cannot_create_or_reveal(
    prediction: RunningService,
) -> None:
    assert (await post(prediction, "S01-0361", series(CLEAN))).status_code == 202
    other = auth("S02", "site_user")
    for response in (
        await post(prediction, "S01-0361", series(CLEAN), headers=other),
        await prediction.client.get("/v1/subjects/S01-0361", headers=other),
        await prediction.client.post("/v1/subjects/S01-0361/kelim-external", json=OFFICIAL,
                                     headers=other),
    ):
        assert response.status_code == 404, response.text
    statistician = await prediction.client.get("/v1/subjects/S01-0361",
                                               headers=auth(None, "statistician"))
    assert statistician.json()["status"] == "awaiting_screening"
    # a correction never creates a subject
    unknown = await prediction.client.post("/v1/subjects/S01-0362/ca125/corrections",
                                           headers=SITE_USER, json={
                                               "date": day(0), "value": 1.0, "unit": "U/mL",
                                               "reason": "the lab re-ran the sample"})
    assert unknown.status_code == 404
    assert (await prediction.client.get("/v1/subjects/S01-0362",
                                        headers=SITE_USER)).status_code == 404
