"""Assessments, corrections, PFS and visits as a site and the trial team use them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
TODAY = dt.date.today()
RANDOMIZED = TODAY - dt.timedelta(days=400)
SITE_USER = auth("S01", "site_user")


def day(offset: int) -> str:
    return (RANDOMIZED + dt.timedelta(days=offset)).isoformat()


def recist(offset: int, total: float | None, new: bool = False, **extra: Any) -> dict[str, Any]:
    return {"type": "recist", "date": day(offset), "target_lesion_sum_mm": total,
            "new_lesions": new, "non_target_progression": False, **extra}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()  # type: ignore[no-any-return]


async def history(service: RunningService, subject_id: str) -> list[dict[str, Any]]:
    response = await service.client.get(f"/v1/subjects/{subject_id}/assessments",
                                        headers=SITE_USER)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_registration_gives_the_protocol_schedule_with_done_overdue_and_upcoming_visits(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    subject = (await followup.client.get("/v1/subjects/S01-0001", headers=SITE_USER)).json()
    assert subject["arm"] == "SCS_CHEMO" and subject["randomization_date"] == RANDOMIZED.isoformat()

    visits = (await followup.client.get("/v1/subjects/S01-0001/visits", headers=SITE_USER)).json()
    months = [v["month"] for v in visits["visits"]]
    assert months == [3, 6, 9, 12, 15, 18, 21, 24, 30, 36, 42, 48, 54, 60]
    first = visits["visits"][0]
    target = dt.date.fromisoformat(first["target_date"])
    assert (dt.date.fromisoformat(first["window_start"]), dt.date.fromisoformat(
        first["window_end"])) == (target - dt.timedelta(days=14), target + dt.timedelta(days=14))

    assert (await record("S01-0001", recist(0, 40.0))).status_code == 201
    late = (target + dt.timedelta(days=10) - RANDOMIZED).days  # inside the window
    assert (await record("S01-0001", recist(late, 38.0))).status_code == 201
    visits = (await followup.client.get("/v1/subjects/S01-0001/visits", headers=SITE_USER)).json()
    # 400 days after randomization: months 3-12 are past their windows, month 15 is ahead.
    assert [v["status"] for v in visits["visits"][:5]] == [
        "done", "overdue", "overdue", "overdue", "upcoming"]
    assert visits["visits"][0]["assessment_date"] == day(late)
    assert visits["unscheduled_assessments"] == [day(0)]  # the baseline
    assert visits["follow_up_ended"] is None


async def test_overdue_visits_are_listed_per_site_and_site_staff_see_only_their_own(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=TODAY - dt.timedelta(days=120))  # month 3 overdue
    await register("S02-0001", site="S02", randomized=TODAY - dt.timedelta(days=200))
    await register("S01-0002", randomized=TODAY - dt.timedelta(days=20))  # nothing due yet
    await register("S01-0003", randomized=TODAY - dt.timedelta(days=120))
    death = {"type": "death", "date": (TODAY - dt.timedelta(days=100)).isoformat(),
             "cause": "pulmonary embolism"}
    assert (await record("S01-0003", death)).status_code == 201  # before month 3: none due

    trial = (await followup.client.get("/v1/visits/overdue", headers=auth(None, "monitor"))).json()
    assert [s["site_id"] for s in trial["sites"]] == ["S01", "S02"]
    assert [(v["subject_id"], v["month"]) for v in trial["sites"][0]["overdue"]] == [
        ("S01-0001", 3)]
    # 200 days in, month 6's window (target 181-184 days in, +14) has closed whatever the month.
    assert [(v["subject_id"], v["month"]) for v in trial["sites"][1]["overdue"]] == [
        ("S02-0001", 3), ("S02-0001", 6)]
    overdue = trial["sites"][0]["overdue"][0]
    assert overdue["days_overdue"] == (TODAY - dt.date.fromisoformat(overdue["window_end"])).days
    assert overdue["days_overdue"] > 0
    assert trial["total"] == sum(len(s["overdue"]) for s in trial["sites"])

    own = (await followup.client.get("/v1/visits/overdue", headers=SITE_USER)).json()
    assert [s["site_id"] for s in own["sites"]] == ["S01"]
    other = await followup.client.get("/v1/visits/overdue?site_id=S02", headers=SITE_USER)
    assert other.json()["sites"] == []
    only_s02 = await followup.client.get("/v1/visits/overdue?site_id=S02",
                                         headers=auth(None, "statistician"))
    assert [s["site_id"] for s in only_s02.json()["sites"]] == ["S02"]


@pytest.mark.parametrize(("body", "field", "rule"), [
    (recist(10, 40.0, date=(TODAY + dt.timedelta(days=2)).isoformat()), "recist.date",
     "date_in_future"),
    (recist(-1, 40.0), "recist.date", "before_randomization"),
    (recist(10, -0.5), "recist.target_lesion_sum_mm", "greater_than_equal"),
    ({"type": "recist", "date": day(10), "new_lesions": False, "non_target_progression": False},
     "recist.target_lesion_sum_mm", "missing"),
    ({"type": "ca125", "date": day(10), "value": -3, "unit": "U/mL"}, "ca125.value",
     "greater_than_equal"),
    ({"type": "ca125", "date": day(10), "value": 30, "unit": "mg"}, "ca125.unit", "literal_error"),
    ({"type": "surgery", "date": day(10), "complete_resection": True,
      "residual_disease": "<1cm"}, "surgery.residual_disease", "resection_inconsistent"),
    ({"type": "lost_to_followup", "last_contact_date": day(-3)},
     "lost_to_followup.last_contact_date", "before_randomization"),
    ({"type": "death", "date": day(10), "cause": "x",
      "supersedes": "0b7c2f4e-8a0a-4a57-9a59-5d0c7f0f3b11"}, "death.correction_reason",
     "correction_incomplete"),
    ({"type": "death", "date": day(10), "cause": "x",
      "supersedes": "0b7c2f4e-8a0a-4a57-9a59-5d0c7f0f3b11", "correction_reason": "typo in cause"},
     "death.supersedes", "not_found"),
    *[({"type": "death", "date": day(10), "cause": "x",
        "supersedes": "0b7c2f4e-8a0a-4a57-9a59-5d0c7f0f3b11", "correction_reason": reason},
       "death.correction_reason", "min_words") for reason in ("x.y.z......", "1 2 3", "a b c")],
    ({"type": "withdrawal", "date": day(10), "reason": "x", "mood": "sad"}, "withdrawal.mood",
     "extra_forbidden"),
    ({"type": "chemotherapy", "date": day(10)}, "body", "union_tag_invalid"),
])
async def test_invalid_records_are_422_naming_the_field_and_nothing_is_stored(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], emitted: Callable[..., Awaitable[Any]],
    body: dict[str, Any], field: str, rule: str,
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    body_problem = problem(await record("S01-0001", body), 422)
    assert {(e["field"], e["rule"]) for e in body_problem["errors"]} == {(field, rule)}
    assert await history(followup, "S01-0001") == []
    assert await emitted() == []


async def test_records_are_entered_by_the_subjects_own_site_and_read_by_the_trial_team(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    problem(await record("S01-0001", recist(0, 40.0), site="S02"), 404)
    problem(await record("S01-9999", recist(0, 40.0)), 404)
    assert "site_user" in problem(await record("S01-0001", recist(0, 40.0), site=None,
                                               role="statistician"), 403)["detail"]
    problem(await record("S01-0001", recist(0, 40.0), site=None, role="monitor"), 403)
    assert (await record("S01-0001", recist(0, 40.0), role="investigator")).status_code == 201
    assert len(await history(followup, "S01-0001")) == 1

    url = "/v1/subjects/S01-0001/pfs"
    problem(await followup.client.get(url, headers=auth("S02", "site_user")), 404)
    problem(await followup.client.get(url), 401)
    for reader in (auth(None, "monitor"), auth(None, "statistician"), SITE_USER):
        assert (await followup.client.get(url, headers=reader)).status_code == 200
    problem(await followup.client.get("/v1/subjects/S01-0001/visits",
                                      headers=auth("S02", "investigator")), 404)


async def test_progression_is_announced_once_and_again_only_when_a_correction_changes_it(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], emitted: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    for body in (recist(0, 50.0), recist(90, 52.0)):
        assert (await record("S01-0001", body)).status_code == 201
    assert await emitted() == []

    progressed = await record("S01-0001", recist(180, 70.0))  # +40 % over the nadir of 50
    assert progressed.status_code == 201
    assert progressed.json()["pfs"] == {
        "subject_id": "S01-0001", "event": True, "event_type": "progression_recist",
        "start_date": day(0), "end_date": day(180), "days": 181, "censor_reason": None,
        "censor_date_source": None, "data_cutoff": None}
    announced = {"event_date": day(180), "event_kind": "progression_recist",
                 "randomization_date": day(0), "pfs_days": 181}
    assert await emitted() == [("followup.progression_recorded", announced)]

    assert (await record("S01-0001", recist(270, 72.0, new=True))).status_code == 201
    assert len(await emitted()) == 1  # later records do not move the event

    wrong = progressed.json()["assessment_id"]
    corrected = await record("S01-0001", recist(180, 55.0, supersedes=wrong,
                                                correction_reason="sum mistyped (55 not 70)"))
    assert corrected.status_code == 201
    assert corrected.json()["pfs"]["end_date"] == day(270)
    assert (await emitted())[1] == ("followup.progression_recorded", {
        **announced, "event_date": day(270), "pfs_days": 271})

    again = await record("S01-0001", recist(180, 56.0, supersedes=wrong,
                                            correction_reason="second try at it"))
    assert problem(again, 409)["record_id"] == corrected.json()["assessment_id"]

    records = await history(followup, "S01-0001")
    assert len(records) == 5  # nothing is deleted
    original = next(r for r in records if r["assessment_id"] == wrong)
    assert original["current"] is False
    assert original["superseded_by"] == corrected.json()["assessment_id"]
    assert original["data"]["target_lesion_sum_mm"] == 70.0
    latest = next(r for r in records if r["assessment_id"] == corrected.json()["assessment_id"])
    assert latest["supersedes"] == wrong and latest["correction_reason"].startswith("sum")

    pfs = (await followup.client.get("/v1/subjects/S01-0001/pfs", headers=SITE_USER)).json()
    assert (pfs["event"], pfs["event_type"], pfs["days"]) == (True, "progression_recist", 271)


async def test_a_correction_that_removes_the_event_announces_nothing_and_censors(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], emitted: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    await record("S01-0001", recist(0, 50.0))
    wrong = (await record("S01-0001", recist(100, 50.0, new=True))).json()["assessment_id"]
    assert len(await emitted()) == 1
    fixed = await record("S01-0001", recist(100, 50.0, supersedes=wrong,
                                            correction_reason="no new lesion after review"))
    assert fixed.json()["pfs"] == {
        "subject_id": "S01-0001", "event": False, "event_type": None, "start_date": day(0),
        "end_date": day(100), "days": 101, "censor_reason": "event_free_at_last_assessment",
        "censor_date_source": "last_tumor_assessment", "data_cutoff": None}
    assert len(await emitted()) == 1


async def test_one_record_per_date_one_death_and_nothing_after_death(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], emitted: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    first = (await record("S01-0001", recist(0, 50.0))).json()["assessment_id"]
    assert problem(await record("S01-0001", recist(0, 51.0)), 409)["record_id"] == first
    await record("S01-0001", recist(60, 50.0))

    early_death = problem(await record("S01-0001", {"type": "death", "date": day(30),
                                                    "cause": "sepsis"}), 422)
    assert early_death["errors"][0]["rule"] == "records_after_death"
    death = await record("S01-0001", {"type": "death", "date": day(75), "cause": "sepsis"})
    assert death.json()["pfs"]["event_type"] == "death" and death.json()["pfs"]["days"] == 76
    assert problem(await record("S01-0001", {"type": "death", "date": day(76), "cause": "x"}),
                   409)["record_id"] == death.json()["assessment_id"]
    after = problem(await record("S01-0001", recist(80, 50.0)), 422)
    assert after["errors"][0] == {"field": "recist.date", "rule": "after_death",
                                  "message": after["detail"]}
    assert await emitted() == [("followup.progression_recorded", {
        "event_date": day(75), "event_kind": "death", "randomization_date": day(0),
        "pfs_days": 76})]


async def test_withdrawal_and_loss_to_follow_up_are_announced_and_censor_pfs(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], emitted: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    await register("S01-0002", randomized=RANDOMIZED)
    for subject_id in ("S01-0001", "S01-0002"):
        await record(subject_id, recist(0, 50.0))
        await record(subject_id, recist(90, 48.0))
    withdrawn = await record("S01-0001", {"type": "withdrawal", "date": day(120),
                                          "reason": "withdrew consent"})
    assert withdrawn.json()["pfs"]["censor_reason"] == "withdrawn"
    assert withdrawn.json()["pfs"]["end_date"] == day(90)
    problem(await record("S01-0001", {"type": "lost_to_followup",
                                      "last_contact_date": day(130)}), 409)
    lost = await record("S01-0002", {"type": "lost_to_followup", "last_contact_date": day(100)})
    assert lost.json()["pfs"]["censor_reason"] == "lost_to_follow_up"
    await record("S01-0002", recist(200, 90.0))  # after the last contact: ignored by PFS
    pfs = (await followup.client.get("/v1/subjects/S01-0002/pfs", headers=SITE_USER)).json()
    assert (pfs["event"], pfs["end_date"]) == (False, day(90))

    fix = await record("S01-0001", {"type": "withdrawal", "date": day(121),
                                    "reason": "withdrew consent", "supersedes":
                                    withdrawn.json()["assessment_id"],
                                    "correction_reason": "date off by one"})
    assert fix.status_code == 201
    assert await emitted() == [
        ("followup.subject_withdrawn", {"withdrawal_date": day(120),
                                        "reason": "withdrew consent"}),
        ("followup.subject_withdrawn", {"withdrawal_date": day(100),
                                        "reason": "lost_to_follow_up"}),
        ("followup.subject_withdrawn", {"withdrawal_date": day(121),
                                        "reason": "withdrew consent"}),
    ]
    visits = (await followup.client.get("/v1/subjects/S01-0001/visits", headers=SITE_USER)).json()
    assert visits["follow_up_ended"] == day(121)
    assert {v["status"] for v in visits["visits"][4:]} == {"not_required"}


async def test_pfs_at_a_cutoff_uses_only_what_was_entered_by_then(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    await record("S01-0001", recist(0, 50.0))
    await record("S01-0001", recist(100, 80.0))
    url = "/v1/subjects/S01-0001/pfs"
    now = (await followup.client.get(url, headers=SITE_USER)).json()
    assert (now["event"], now["days"]) == (True, 101)
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    then = (await followup.client.get(f"{url}?cutoff={yesterday}", headers=SITE_USER)).json()
    assert (then["event"], then["days"], then["censor_reason"], then["data_cutoff"]) == (
        False, 1, "no_adequate_assessment", yesterday)
    early = await followup.client.get(f"{url}?cutoff={day(-1)}", headers=SITE_USER)
    assert problem(early, 422)["errors"][0]["field"] == "cutoff"


async def test_a_short_correction_reason_of_real_words_is_enough(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]],
) -> None:
    await register("S01-0001", randomized=RANDOMIZED)
    first = (await record("S01-0001", recist(0, 40.0))).json()["assessment_id"]
    for meaningless in ("x.y.z......", "1 2 3", "a b c"):
        refused = problem(await record("S01-0001", recist(
            0, 41.0, supersedes=first, correction_reason=meaningless)), 422)
        assert [(e["field"], e["rule"]) for e in refused["errors"]] == [
            ("recist.correction_reason", "min_words")]
    corrected = await record("S01-0001", recist(0, 41.0, supersedes=first,
                                                 correction_reason="entered in error"))
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["correction_reason"] == "entered in error"
