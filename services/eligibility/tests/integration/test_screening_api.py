"""The eligibility API as a site and the trial team use it (real database, both engines)."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from typing import Any

import pytest
from harness import ELIGIBLE_FACTS

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
SITE_USER = auth("S01", "site_user")


async def screen(service: RunningService, subject_id: str, headers: dict[str, str] = SITE_USER,
                 screening_date: str = "2026-03-02", **facts: Any) -> dict[str, Any]:
    response = await service.client.post("/v1/screenings", headers=headers, json={
        "subject_id": subject_id, "screening_date": screening_date,
        "facts": {**ELIGIBLE_FACTS, **facts}})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_an_eligible_candidate_waits_for_the_prediction(
    eligibility: RunningService,
) -> None:
    body = await screen(eligibility, "S01-0001")
    assert body["outcome"] == "eligible" and body["awaiting_prediction"] is True
    assert body["final_decision"] == "pending" and body["protocol_version"] == "1"
    results = {c["id"]: c["result"] for c in body["criteria"]}
    assert results["INC-05"] == "pending_prediction"
    assert all(r == "met" for cid, r in results.items() if cid != "INC-05")
    pfi = next(c for c in body["criteria"] if c["id"] == "INC-02")
    assert "14" in pfi["reason"]


async def test_a_failed_criterion_is_named_with_the_values_used(
    eligibility: RunningService,
) -> None:
    body = await screen(eligibility, "S01-0002", platinum_free_interval_months=5.5)
    assert body["outcome"] == "ineligible" and body["final_decision"] == "ineligible"
    assert "INC-02" in body["failed_criteria"]
    reason = next(c["reason"] for c in body["criteria"] if c["id"] == "INC-02")
    assert "5.5" in reason and "6" in reason


async def test_a_missing_fact_makes_the_screening_incomplete_not_ineligible(
    eligibility: RunningService,
) -> None:
    facts = {k: v for k, v in ELIGIBLE_FACTS.items() if k != "age_years"}
    response = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
        "subject_id": "S01-0003", "screening_date": "2026-03-02", "facts": facts})
    body = response.json()
    assert body["outcome"] == "incomplete"
    assert body["missing_facts"] == ["age_years"]
    assert body["failed_criteria"] == []


async def test_history_lists_every_screening_and_is_site_scoped(
    eligibility: RunningService,
) -> None:
    first = await screen(eligibility, "S01-0004", platinum_free_interval_months=5.0)
    second = await screen(eligibility, "S01-0004")
    history = await eligibility.client.get("/v1/subjects/S01-0004/screenings",
                                           headers=SITE_USER)
    assert [s["screening_id"] for s in history.json()] == [
        first["screening_id"], second["screening_id"]]
    other_site = await eligibility.client.get("/v1/subjects/S01-0004/screenings",
                                              headers=auth("S02", "site_user"))
    assert other_site.status_code == 404
    unknown = await eligibility.client.get("/v1/subjects/S01-9999/screenings",
                                           headers=SITE_USER)
    assert unknown.status_code == 404


async def attempt(service: RunningService, subject_id: str, headers: dict[str, str]) -> Any:
    return await service.client.post("/v1/screenings", headers=headers, json={
        "subject_id": subject_id, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS})


async def test_another_sites_subject_is_refused_exactly_as_any_unusable_id_and_audited(
    eligibility: RunningService, caplog: pytest.LogCaptureFixture,
) -> None:
    await screen(eligibility, "S01-0005")
    s02 = auth("S02", "investigator")
    with caplog.at_level(logging.WARNING, logger="rescue_eligibility.service_layer.subject_ids"):
        another_sites = await attempt(eligibility, "S01-0005", s02)
        reserved = await attempt(eligibility, "Unknown", s02)
        confusable = await attempt(eligibility, "s01-0005", s02)

    answers = [(r.status_code, r.headers["content-type"], r.content)
               for r in (another_sites, reserved, confusable)]
    assert answers[0] == answers[1] == answers[2]  # byte for byte: nothing tells her who exists
    body = another_sites.json()
    assert another_sites.status_code == 422
    assert body["errors"] == [{"field": "subject_id", "rule": "unavailable", "message": (
        "this subject id cannot be used at your site; choose another pseudonym")}]
    assert "S01" not in another_sites.text and "another site" not in another_sites.text
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("S01-0005" in w and "another_site" in w for w in warnings)

    refusals = await eligibility.client.get("/v1/access-refusals",
                                            headers=auth(None, "monitor"))
    assert refusals.status_code == 200
    rows = refusals.json()
    assert [(r["subject_id"], r["site_id"], r["action"], r["cause"]) for r in rows] == [
        ("s01-0005", "S02", "screening", "confusable"),
        ("Unknown", "S02", "screening", "reserved"),
        ("S01-0005", "S02", "screening", "another_site")]
    assert all(r["actor"] and r["actor_roles"] == ["investigator"] and r["attempted_at"]
               for r in rows)
    only = await eligibility.client.get("/v1/access-refusals", params={"subject_id": "S01-0005"},
                                        headers=auth(None, "admin"))
    assert [r["cause"] for r in only.json()] == ["another_site"]
    for role in ("site_user", "investigator", "statistician"):
        forbidden = await eligibility.client.get("/v1/access-refusals", headers=auth("S01", role))
        assert forbidden.status_code == 403
    # Nothing was screened by the refused attempts; the owner still screens her subject.
    history = await eligibility.client.get("/v1/subjects/S01-0005/screenings", headers=SITE_USER)
    assert len(history.json()) == 1
    await screen(eligibility, "S01-0005")


async def test_twenty_simultaneous_first_screenings_of_one_subject_all_succeed(
    eligibility: RunningService,
) -> None:
    async def one(i: int) -> Any:
        keyed = {"Idempotency-Key": f"first-screening-{i}"} if i % 2 else {}
        return await attempt(eligibility, "S01-0030", SITE_USER | keyed)

    responses = await asyncio.gather(*(one(i) for i in range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert all(s in (201, 409) for s in statuses), [r.text for r in responses]
    created = {r.json()["screening_id"] for r in responses if r.status_code == 201}
    history = (await eligibility.client.get("/v1/subjects/S01-0030/screenings",
                                            headers=SITE_USER)).json()
    assert {s["screening_id"] for s in history} == created and len(created) == 20
    log = (await eligibility.client.get("/v1/screening-log", headers=SITE_USER)).json()
    assert log["totals"]["subjects"] == 1 and log["screenings"] == 20


async def test_two_sites_screening_one_new_id_at_once_one_wins_the_other_is_refused(
    eligibility: RunningService,
) -> None:
    responses = await asyncio.gather(*(
        attempt(eligibility, "X-0001", auth(site, "site_user"))
        for site in ("S01", "S02") * 5))
    winners = {r.json()["site_id"] for r in responses if r.status_code == 201}
    assert len(winners) == 1
    assert all(r.status_code == 422 and r.json()["errors"][0]["rule"] == "unavailable"
               for r in responses if r.status_code != 201)


async def test_criteria_are_listed_by_protocol_version(eligibility: RunningService) -> None:
    current = (await eligibility.client.get("/v1/criteria", headers=SITE_USER)).json()
    assert current["current_version"] == "1" and "1" in current["available_versions"]
    ids = [c["id"] for c in current["protocol"]["criteria"]]
    assert ids[:5] == ["INC-01", "INC-02", "INC-03", "INC-04", "INC-05"]
    assert any(i.startswith("EXC-") for i in ids)
    assert (await eligibility.client.get("/v1/criteria/1", headers=SITE_USER)).status_code == 200
    missing = await eligibility.client.get("/v1/criteria/99", headers=SITE_USER)
    assert missing.status_code == 404 and "available" in missing.json()["detail"]


async def test_screening_log_counts_latest_screenings_by_outcome_criterion_site_and_month(
    eligibility: RunningService,
) -> None:
    await screen(eligibility, "S01-0010")
    await screen(eligibility, "S01-0011", age_years=18)
    await screen(eligibility, "S01-0012", recurrence_number=2, screening_date="2026-04-01")
    await screen(eligibility, "S01-0012", screening_date="2026-04-02")  # re-screened: counts once
    s02 = auth("S02", "site_user")
    await screen(eligibility, "S02-0001", headers=s02, platinum_free_interval_months=3.0)

    log = (await eligibility.client.get("/v1/screening-log",
                                        headers=auth(None, "statistician"))).json()
    assert log["screenings"] == 5
    assert log["totals"]["subjects"] == 4
    assert (log["totals"]["eligible"], log["totals"]["ineligible"]) == (2, 2)
    assert log["ineligible_by_criterion"]["INC-04"] == 1
    assert log["ineligible_by_criterion"]["INC-02"] == 1
    assert set(log["by_site"]) == {"S01", "S02"}
    assert log["by_month"]["2026-04"]["subjects"] == 1

    own_site = (await eligibility.client.get("/v1/screening-log", headers=SITE_USER)).json()
    assert set(own_site["by_site"]) == {"S01"} and own_site["totals"]["subjects"] == 3

    exported = await eligibility.client.get(
        "/v1/screening-log", headers=auth(None, "monitor") | {"Accept": "text/csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {"dimension": "all", "key": "all", "measure": "subjects", "count": "4"} in rows
    assert {"dimension": "criterion", "key": "INC-04", "measure": "ineligible",
            "count": "1"} in rows


async def test_invalid_screenings_store_nothing(eligibility: RunningService) -> None:
    for facts in ({"platinum_free_interval_months": -1}, {"nact_cycles": 13},
                  {"age_years": "old"}, {"nact_response_recist": "XX"}):
        response = await eligibility.client.post("/v1/screenings", headers=SITE_USER, json={
            "subject_id": "S01-0020", "screening_date": "2026-03-02",
            "facts": {**ELIGIBLE_FACTS, **facts}})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == f"facts.{next(iter(facts))}"
    log = (await eligibility.client.get("/v1/screening-log", headers=SITE_USER)).json()
    assert log["screenings"] == 0
