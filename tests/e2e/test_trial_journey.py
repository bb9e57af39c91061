"""A simulated trial through real Kafka and all four services, from screening to the PFS analysis.

48 subjects at four sites are screened; their CA-125 series go to prediction; the favourable ones
are confirmed eligible and randomized over HTTP; the unfavourable ones are refused. Follow-up then
runs for two years on a simulated clock (time-machine moves the wall clock forward; nothing else is
faked): RECIST assessments every 90 days until a planned progression, death or the last visit.
The primary analysis the statistician reads must match lifelines run here on the planned data,
and the CONSORT flow must count what happened.

Every call goes through a client generated from the services' own OpenAPI documents
(`contract_client.py`: operations by operationId, requests and answers checked against the
documents), so a lie in a contract fails the journey.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import math
import random
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
import time_machine
from audit_checks import entries, verify
from contract_client import ContractClient
from harness import ELIGIBLE_FACTS, Platform
from survival_check import assert_matches_lifelines

from rescue_shared.clock import today_in
from rescue_shared.testing import auth, eventually

pytestmark = pytest.mark.e2e
SUBJECTS = 48
UNFAVOURABLE = {5, 17, 29, 41}  # slow CA-125 decline: not highly likely, never randomized
MAINTENANCE = ("parp_inhibitor", "bevacizumab", "none")
FOLLOW_UP_DAYS = 720
VISIT_EVERY = 90


@dataclass(frozen=True)
class Plan:
    subject_id: str
    site: str
    pfi_months: float
    kelim_k: float  # the CA-125 elimination rate of her series (/day)
    outcome: str  # "recist", "death" or "censored"
    day: int  # of the event, or of her last assessment when censored

    @property
    def randomizable(self) -> bool:
        return self.kelim_k >= 0.037  # the protocol's K_ref: standardized KELIM >= 1.0


def trial_plan() -> list[Plan]:
    rng = random.Random(20261125)
    plans = []
    for i in range(SUBJECTS):
        site = f"S0{1 + i % 4}"
        day = min(FOLLOW_UP_DAYS, VISIT_EVERY * (1 + int(rng.expovariate(1 / 3))))
        outcome = "censored" if day == FOLLOW_UP_DAYS else "recist"
        if outcome == "recist" and i % 7 == 0:
            outcome, day = "death", day - 11  # dies between two visits
        plans.append(Plan(subject_id=f"{site}-{i:04d}", site=site,
                          pfi_months=8.0 if i % 3 == 0 else 14.0,
                          kelim_k=0.012 if i in UNFAVOURABLE else 0.045 + 0.001 * (i % 5),
                          outcome=outcome, day=day))
    return plans


def ca125_series(plan: Plan, today: dt.date) -> dict[str, Any]:
    """Four values in the first 42 days of chemotherapy, falling exponentially at `kelim_k`."""
    start = today - dt.timedelta(days=60)
    return {"chemotherapy_start_date": start.isoformat(), "measurements": [
        {"date": (start + dt.timedelta(days=day)).isoformat(),
         "value": round(900.0 * math.exp(-plan.kelim_k * day), 3), "unit": "U/mL"}
        for day in (0, 14, 28, 42)]}


def assessments(plan: Plan, randomized: dt.date) -> list[dict[str, Any]]:
    """Baseline 50 mm, then every 90 days: stable until her planned event or last visit."""
    records = []
    for day in range(0, plan.day + 1, VISIT_EVERY):
        progressed = plan.outcome == "recist" and day == plan.day
        records.append({"type": "recist",
                        "date": (randomized + dt.timedelta(days=day)).isoformat(),
                        "target_lesion_sum_mm": 75.0 if progressed else 50.0,
                        "new_lesions": False, "non_target_progression": False})
    if plan.outcome == "death":
        records.append({"type": "death",
                        "date": (randomized + dt.timedelta(days=plan.day)).isoformat(),
                        "cause": "pulmonary embolism"})
    return records


Apis = dict[str, ContractClient]


async def contract_clients(platform: Platform) -> Apis:
    """One client per service, generated from the document the service serves."""
    return {name: await ContractClient.of(service.client)
            for name, service in platform.services.items()}


async def enrol(api: Apis, plan: Plan, today: dt.date) -> None:
    site_user = auth(plan.site, "site_user")
    screening = await api["eligibility"].call("create_screening", headers=site_user, json={
        "subject_id": plan.subject_id,
        "screening_date": (today - dt.timedelta(days=70)).isoformat(),
        "facts": {**ELIGIBLE_FACTS, "platinum_free_interval_months": plan.pfi_months}})
    assert screening.status_code == 201, screening.text
    assert screening.json()["outcome"] == "eligible"

    # Sent at once, as a hospital system would: whether or not the screening has reached
    # prediction yet, the values are kept and used (202 while it has not).
    series = await api["prediction"].call(
        "post_ca125", path={"subject_id": plan.subject_id}, json=ca125_series(plan, today),
        headers=site_user)
    assert series.status_code in (200, 201, 202), series.text


async def randomize(api: Apis, plan: Plan, maintenance: str) -> dict[str, Any]:
    site_user = auth(plan.site, "site_user")

    async def randomizable() -> bool:
        candidate = await api["randomization"].call(
            "get_candidate", path={"subject_id": plan.subject_id}, headers=site_user)
        return candidate.status_code == 200 and candidate.json()["randomizable"]

    await eventually(randomizable, timeout=60, description=f"{plan.subject_id} randomizable")
    response = await api["randomization"].call("randomize", headers=site_user, json={
        "subject_id": plan.subject_id, "consent_confirmed": True,
        "planned_maintenance": maintenance})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def refused_as_not_highly_likely(api: Apis, plan: Plan) -> None:
    site_user = auth(plan.site, "site_user")

    async def predicted() -> bool:
        candidate = await api["randomization"].call(
            "get_candidate", path={"subject_id": plan.subject_id}, headers=site_user)
        return candidate.json()["prediction_classification"] is not None

    await eventually(predicted, timeout=60, description=f"{plan.subject_id} prediction applied")
    response = await api["randomization"].call("randomize", headers=site_user, json={
        "subject_id": plan.subject_id, "consent_confirmed": True, "planned_maintenance": "none"})
    assert response.status_code == 409, response.text
    missing = response.json()["missing"]
    assert "prediction_highly_likely_complete_resection" in missing
    assert "eligibility_confirmed" in missing  # INC-05 fails on the same prediction


async def test_forty_eight_subjects_from_screening_to_the_primary_pfs_analysis(
    platform: Platform,
) -> None:
    plans = trial_plan()
    api = await contract_clients(platform)
    today = today_in(platform["randomization"].settings.trial_timezone)  # the trial's date
    await asyncio.gather(*(enrol(api, plan, today) for plan in plans))

    arms: dict[str, str] = {}
    for i, plan in enumerate(plans):
        if plan.randomizable:
            allocation = await randomize(api, plan, MAINTENANCE[i % 3])
            assert allocation["randomization_date"] == today.isoformat()
            assert allocation["stratum"]["pfi"] == ("6-12" if plan.pfi_months < 12 else ">12")
            arms[plan.subject_id] = allocation["arm"]
        else:
            await refused_as_not_highly_likely(api, plan)
    randomized = [p for p in plans if p.randomizable]
    assert len(randomized) == SUBJECTS - len(UNFAVOURABLE) == len(arms)

    statistician = auth(None, "statistician")
    balance = (await api["randomization"].call("balance", headers=auth(None, "monitor"))).json()
    assert balance["allocated"]["total"] == len(randomized)

    async def all_followed() -> bool:
        for plan in randomized:
            subject = await api["followup"].call(
                "get_subject", path={"subject_id": plan.subject_id}, headers=statistician)
            if subject.status_code != 200:
                return False
            assert subject.json()["arm"] == arms[plan.subject_id]
        return True

    await eventually(all_followed, timeout=60, description="every allocation in follow-up")

    # One allocation found to be made in error: kept in ITT, flagged, left out of the sensitivity
    # analysis.
    erroneous = randomized[0]
    invalidation = await api["randomization"].call(
        "invalidate", path={"subject_id": erroneous.subject_id},
        headers=auth(erroneous.site, "investigator"),
        json={"reason": "Prior malignancy found in the source documents after randomization"})
    assert invalidation.status_code == 200, invalidation.text

    async def flagged() -> bool:
        subject = await api["followup"].call(
            "get_subject", path={"subject_id": erroneous.subject_id}, headers=statistician)
        return bool(subject.json()["invalidated"])

    await eventually(flagged, timeout=60, description="invalidation reached follow-up")

    # Two years later (the wall clock only; the broker and databases are the real ones).
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=FOLLOW_UP_DAYS + 30),
                             tick=True):
        statistician = auth(None, "statistician")  # tokens minted now expire in simulated time
        for plan in randomized:
            for body in assessments(plan, today):
                response = await api["followup"].call(
                    "record_assessment", path={"subject_id": plan.subject_id}, json=body,
                    headers=auth(plan.site, "site_user"))
                assert response.status_code == 201, response.text
        analysis_response = await api["followup"].call("live_analysis", headers=statistician)
        sensitivity = (await api["followup"].call(
            "live_analysis", params={"population": "excluding_invalidated"},
            headers=statistician)).json()
        consort = (await api["followup"].call("consort", headers=statistician)).json()
        # The final analysis works on a data cut: frozen today, its submission files as frozen.
        cut_response = await api["followup"].call("freeze", headers=statistician, json={
            "name": "final", "cutoff": dt.datetime.now(dt.UTC).date().isoformat(),
            "reason": "final analysis of the primary endpoint"})
        assert cut_response.status_code == 201, cut_response.text
        cut_files = {file: (await api["followup"].call(
            "get_export", path={"name": "final", "file": file}, headers=statistician)).content
            for file in ("adsl.xpt", "adtte.xpt", "adtte.csv", "define.xml")}
        cut_analysis = (await api["followup"].call(
            "get_analysis", path={"name": "final"}, headers=statistician)).json()
    assert analysis_response.status_code == 200, analysis_response.text
    analysis = analysis_response.json()

    assert analysis["n"] == len(randomized)
    assert_matches_lifelines(analysis, [p.day + 1 for p in randomized],
                             [int(p.outcome != "censored") for p in randomized],
                             [arms[p.subject_id] for p in randomized], landmark_months=12.0)

    assert sensitivity["n"] == len(randomized) - 1

    # The cut's datasets read back as SAS transport files with every randomized subject, and its
    # analysis is the live one: nothing was recorded after the cut-off.
    adsl = pd.read_sas(io.BytesIO(cut_files["adsl.xpt"]), format="xport", encoding="utf-8")
    adtte = pd.read_sas(io.BytesIO(cut_files["adtte.xpt"]), format="xport", encoding="utf-8")
    assert sorted(adsl["USUBJID"]) == sorted(p.subject_id for p in randomized)
    assert list(adtte["USUBJID"]) == [line.split(",")[0] for line in
                                      cut_files["adtte.csv"].decode().splitlines()[1:]]
    assert (adsl["INVALFL"] == "Y").sum() == 1
    assert b"<ItemGroupDef" in cut_files["define.xml"]
    assert cut_analysis["n"] == analysis["n"] and cut_analysis["logrank"] == analysis["logrank"]
    assert cut_analysis["cox"] == analysis["cox"]

    assert consort["screened_subjects"] == SUBJECTS
    assert sum(arm["invalidated"] for arm in consort["allocation"]) == 1
    assert consort["enrollment"]["randomized"] == len(randomized)
    assert consort["enrollment"]["predicted_by_classification"][
        "highly_likely_complete_resection"] == len(randomized)

    # Every change above is in its service's audit trail, and the four chains verify.
    for name in ("eligibility", "prediction", "randomization", "followup"):
        assert (await verify(platform[name]))["valid"] is True, name
    posted = sum(len(assessments(p, today)) for p in randomized)
    assert len(await entries(platform["followup"], action="assessment.recorded")) == posted
    assert len(await entries(platform["eligibility"], action="screening.recorded")) == SUBJECTS
