"""Randomizing a subject as a site does it, and every way the service refuses (both engines)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from randomization_support import (
    MONITOR,
    SITE_USER,
    STATISTICIAN,
    assert_problem,
    audit_entries,
    confirmed,
    predicted,
    rejected,
    screened,
)
from sqlmodel import col, select

from rescue_randomization.adapters.tables import Allocation
from rescue_shared.db.platform_tables import OutboxMessage
from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
Eligible = Callable[..., Awaitable[str]]
Randomize = Callable[..., Awaitable[Any]]
Deliver = Callable[..., Awaitable[None]]


async def staged_events(service: RunningService) -> list[tuple[str, dict[str, Any]]]:
    async with service.app.state.database.session() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [(r.event_type, json.loads(r.value)) for r in rows]


async def test_a_randomizable_subject_is_allocated_once_with_her_stratum(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0001", platinum_free_interval_months=9.5)
    candidate = await randomization.client.get("/v1/candidates/S01-0001", headers=SITE_USER)
    assert candidate.json()["randomizable"] is True
    assert candidate.json()["unmet_conditions"] == []

    response = await randomize("S01-0001", maintenance="parp_inhibitor", role="investigator")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["subject_id"] == "S01-0001" and body["arm"] in {"SCS_CHEMO", "CHEMO"}
    assert body["randomization_number"] == "R-00001"
    assert body["stratum"] == {"site": "S01", "pfi": "6-12", "maintenance": "parp_inhibitor"}
    assert body["scheme"] == "permuted_blocks" and body["status"] == "valid"
    allocated_at = datetime.fromisoformat(body["allocated_at"])
    assert abs((datetime.now(UTC) - allocated_at).total_seconds()) < 600
    # The PFS start date is the allocation's date in the trial's time zone (Seoul), not UTC's.
    assert body["randomization_date"] == allocated_at.astimezone(
        ZoneInfo("Asia/Seoul")).date().isoformat()
    for headers in (SITE_USER, MONITOR, STATISTICIAN):
        read = await randomization.client.get("/v1/randomizations/S01-0001", headers=headers)
        assert read.json() == body
    candidate = await randomization.client.get("/v1/candidates/S01-0001", headers=SITE_USER)
    assert candidate.json()["randomized"] is True and candidate.json()["randomizable"] is False

    [(event_type, event)] = await staged_events(randomization)
    assert event_type == "randomization.assigned"
    assert event["subject_id"] == "S01-0001" and event["site_id"] == "S01"
    assert event["payload"] == {
        "randomization_number": "R-00001", "arm": body["arm"], "stratum": body["stratum"],
        "randomization_date": body["randomization_date"], "scheme": "permuted_blocks"}
    assert [e["type"] for e in await audit_entries(randomization)] == [
        "trial_set_up", "allocation"]


async def test_pfi_over_12_months_and_sites_give_separate_strata(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0002", platinum_free_interval_months=12.0)
    await eligible("S01-0003", platinum_free_interval_months=12.5)
    await eligible("S02-0001", site="S02", platinum_free_interval_months=30)
    strata = [(await randomize(s, site=s[:3])).json()["stratum"]
              for s in ("S01-0002", "S01-0003", "S02-0001")]
    assert strata == [{"site": "S01", "pfi": "6-12", "maintenance": "none"},
                      {"site": "S01", "pfi": ">12", "maintenance": "none"},
                      {"site": "S02", "pfi": ">12", "maintenance": "none"}]


async def test_another_sites_randomization_is_not_found(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0004")
    assert (await randomize("S01-0004")).status_code == 201
    assert_problem(await randomization.client.get(
        "/v1/randomizations/S01-0004", headers=auth("S02", "site_user")), 404)
    assert_problem(await randomization.client.get(
        "/v1/randomizations/S01-0099", headers=SITE_USER), 404)


async def refused(randomization: RunningService, response: Any, status: int
                  ) -> dict[str, Any]:
    """The refusal's problem document; checks it is the newest audit entry and nothing else was
    allocated for the subject."""
    problem = assert_problem(response, status)
    last = (await audit_entries(randomization))[-1]
    assert last["type"] == "refusal" and last["details"]["status"] == status
    assert last["details"]["detail"] == problem["detail"]
    return problem


async def test_an_unknown_subject_is_refused_as_not_screened(
    randomization: RunningService, randomize: Randomize,
) -> None:
    problem = await refused(randomization, await randomize("S01-0404"), 409)
    assert problem["missing"] == ["screened"]
    assert "no screening" in problem["detail"]


async def test_another_sites_subject_is_answered_exactly_as_an_unknown_one(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0005")
    other_site = await refused(randomization, await randomize("S01-0005", site="S02"), 409)
    unknown = await refused(randomization, await randomize("S01-0406", site="S02"), 409)
    assert other_site["detail"].replace("S01-0005", "X") == unknown["detail"].replace(
        "S01-0406", "X")
    assert other_site["missing"] == unknown["missing"] == ["screened"]


async def test_pending_eligibility_and_missing_prediction_are_both_named(
    randomization: RunningService, deliver: Deliver, randomize: Randomize,
) -> None:
    await deliver(screened("S01-0006"))
    problem = await refused(randomization, await randomize("S01-0006"), 409)
    assert problem["missing"] == ["eligibility_confirmed",
                                  "prediction_highly_likely_complete_resection"]
    assert "not confirmed" in problem["detail"] and "no complete-resection prediction" in (
        problem["detail"])


async def test_rejected_eligibility_is_refused_with_its_reason(
    randomization: RunningService, deliver: Deliver, randomize: Randomize,
) -> None:
    screening = screened("S01-0007")
    await deliver(screening, predicted("S01-0007", 1, "not_highly_likely"), rejected(screening))
    problem = await refused(randomization, await randomize("S01-0007"), 409)
    assert problem["missing"] == ["eligibility_confirmed",
                                  "prediction_highly_likely_complete_resection"]
    assert "INC-05 not met" in problem["detail"] and "not_highly_likely" in problem["detail"]


async def test_ineligible_at_screening_is_refused(
    randomization: RunningService, deliver: Deliver, randomize: Randomize,
) -> None:
    await deliver(screened("S01-0008", outcome="ineligible", platinum_free_interval_months=5.0),
                  predicted("S01-0008"))
    problem = await refused(randomization, await randomize("S01-0008"), 409)
    assert problem["missing"] == ["eligibility_confirmed", "strata_facts"]
    assert "INC-02" in problem["detail"] and "outside every band" in problem["detail"]


async def test_a_newer_screening_needs_its_own_confirmation(
    randomization: RunningService, deliver: Deliver, randomize: Randomize,
) -> None:
    first = screened("S01-0009")
    await deliver(first, confirmed(first), predicted("S01-0009"), screened("S01-0009"),
                  confirmed(first))  # a late confirmation of the older screening is ignored
    problem = await refused(randomization, await randomize("S01-0009"), 409)
    assert problem["missing"] == ["eligibility_confirmed"]
    candidate = (await randomization.client.get("/v1/candidates/S01-0009",
                                                headers=SITE_USER)).json()
    assert candidate["screenings_seen"] == 2 and candidate["eligibility_status"] == "pending"


async def test_only_the_latest_prediction_version_counts(
    randomization: RunningService, deliver: Deliver, randomize: Randomize,
) -> None:
    screening = screened("S01-0010")
    await deliver(screening, confirmed(screening), predicted("S01-0010", 3, "not_highly_likely"),
                  predicted("S01-0010", 2))  # older favourable version arriving late
    problem = await refused(randomization, await randomize("S01-0010"), 409)
    assert problem["missing"] == ["prediction_highly_likely_complete_resection"]
    assert "version 3" in problem["detail"]

    await deliver(predicted("S01-0010", 4))
    assert (await randomize("S01-0010")).status_code == 201


async def test_a_missing_pfi_is_a_missing_strata_fact(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0011", platinum_free_interval_months=None)
    problem = await refused(randomization, await randomize("S01-0011"), 409)
    assert problem["missing"] == ["strata_facts"]
    assert "pfi_months" in problem["detail"]


async def test_consent_not_confirmed_is_422_and_audited(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0012")
    problem = await refused(randomization, await randomize("S01-0012", consent=False), 422)
    assert problem["errors"] == [{"field": "consent_confirmed", "rule": "must_be_true",
                                  "message": problem["errors"][0]["message"]}]
    not_a_bool = await randomize("S01-0012", consent="yes")
    assert {e["field"] for e in assert_problem(not_a_bool, 422)["errors"]} == {
        "consent_confirmed"}
    assert (await randomization.client.get("/v1/randomizations/S01-0012",
                                           headers=SITE_USER)).status_code == 404


@pytest.mark.parametrize(("maintenance", "rule"), [(None, "missing"), ("tamoxifen", "enum")])
async def test_a_missing_or_unknown_maintenance_is_422(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
    maintenance: str | None, rule: str,
) -> None:
    await eligible("S01-0013")
    problem = await refused(randomization, await randomize("S01-0013", maintenance=maintenance),
                            422)
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("planned_maintenance", rule)]


async def test_a_second_randomization_is_refused_with_the_existing_one(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0014")
    first = (await randomize("S01-0014")).json()
    problem = await refused(randomization, await randomize("S01-0014", role="investigator"), 409)
    assert problem["randomization"] == first
    assert first["randomization_number"] in problem["detail"]


async def test_a_repeated_idempotency_key_replays_the_same_201(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    await eligible("S01-0015")
    headers = SITE_USER | {"Idempotency-Key": "his-msg-0015"}
    first = await randomize("S01-0015", headers=headers)
    again = await randomize("S01-0015", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    async with randomization.app.state.database.session() as session:
        assert len((await session.exec(select(Allocation))).all()) == 1
    assert [e["type"] for e in await audit_entries(randomization)] == [
        "trial_set_up", "allocation"]


@pytest.mark.parametrize("roles", [("statistician",), ("monitor",), ("admin",)])
async def test_only_site_users_and_investigators_randomize(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
    roles: tuple[str, ...],
) -> None:
    await eligible("S01-0016")
    response = await randomize("S01-0016", headers=auth("S01", *roles))
    assert "site_user" in assert_problem(response, 403)["detail"]
    no_site = await randomize("S01-0016", headers=auth(None, "site_user"))
    assert "site_id" in assert_problem(no_site, 403)["detail"]
    assert_problem(await randomization.client.post(
        "/v1/randomizations", json={"subject_id": "S01-0016", "consent_confirmed": True}), 401)
    assert await audit_entries(randomization) == []


async def test_the_trial_team_lists_every_randomization_and_the_export_is_audited(
    randomization: RunningService, eligible: Eligible, randomize: Randomize,
) -> None:
    for subject in ("S01-0017", "S01-0018"):
        await eligible(subject)
        await randomize(subject)
    listed = await randomization.client.get("/v1/randomizations", headers=STATISTICIAN)
    assert [r["randomization_number"] for r in listed.json()] == ["R-00001", "R-00002"]
    as_csv = await randomization.client.get("/v1/randomizations",
                                            headers=MONITOR | {"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0].startswith("randomization_number,subject_id") and len(lines) == 3
    exports = [e for e in await audit_entries(randomization) if e["type"] == "export"]
    assert [(e["details"]["format"], e["details"]["rows"]) for e in exports] == [
        ("json", 2), ("csv", 2)]
    assert_problem(await randomization.client.get("/v1/randomizations", headers=SITE_USER), 403)


async def test_news_against_a_randomized_subject_is_put_before_the_monitors(
    randomization: RunningService, deliver: Any, randomize: Randomize,
) -> None:
    screening = screened("S01-0301")
    await deliver(screening, confirmed(screening), predicted("S01-0301"))
    allocated = (await randomize("S01-0301")).json()

    await deliver(rejected(screening), predicted("S01-0301", version=2,
                                                 classification="not_highly_likely"))

    findings = [e for e in await audit_entries(randomization)
                if e["type"] == "post_randomization_finding"]
    assert [(f["subject_id"], f["details"]["finding"]) for f in findings] == [
        ("S01-0301", "eligibility rejected: INC-05 not met: complete resection not highly "
                     "likely"),
        ("S01-0301", "prediction version 2 is not_highly_likely")]
    assert all(f["details"]["randomization_number"] == allocated["randomization_number"]
               for f in findings)
    # Her allocation stands until an investigator invalidates it.
    read = await randomization.client.get("/v1/randomizations/S01-0301", headers=SITE_USER)
    assert read.json() == allocated
    verify = (await randomization.client.get("/v1/audit/verify", headers=MONITOR)).json()
    assert verify["valid"] is True
