"""Seeded subject journeys through the four services' HTTP APIs, spread over the replicas.

Each subject: (some) CA-125 values sent before her screening → screening → CA-125 values (JSON,
a FHIR transaction Bundle or single FHIR Observations) → (some) a corrected CA-125 value →
randomization once she is randomizable (or a refusal when her prediction is unfavourable) →
follow-up records → (some) a corrected record → (some) an invalidated allocation. Every write
goes through `HospitalClient` (one Idempotency-Key per logical write, retried with it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.client import HospitalClient, WriteRecord

ELIGIBLE_FACTS: dict[str, Any] = {
    "age_years": 57, "histology": "high_grade_serous", "primary_site": "ovary",
    "recurrence_number": 1, "prior_chemotherapy_lines": 1,
    "platinum_free_interval_months": 14.0, "progressed_on_platinum": False, "nact_cycles": 3,
    "nact_platinum_based": True, "nact_response_recist": "PR", "nact_response_gcig_ca125": True,
    "ecog": 0, "ascites_ml": 0, "residual_disease_primary_surgery": "none",
    "figo_stage_initial": "IIIC", "unresectable_disease_on_imaging": False,
    "palliative_surgery_only": False,
}
MAINTENANCE = ("parp_inhibitor", "bevacizumab", "none")
K_REF = 0.037  # the protocol's K_ref (/day): standardized KELIM >= 1 is favourable
CA125_DAYS = (0, 14, 28, 42)
VISIT_EVERY = 90
CORRECTION_REASON = "transcription error in the laboratory report"


@dataclass(frozen=True)
class LoadConfig:
    subjects: int = 200
    sites: int = 4
    seed: int = 1
    tag: str = ""  # inserted in subject ids (runs sharing a database stay apart)
    duration_s: float = 300.0  # subject starts are spread over this
    concurrency: int = 12
    unfavourable_fraction: float = 0.1
    ca125_before_screening_fraction: float = 0.1
    fhir_fraction: float = 0.5
    ca125_correction_fraction: float = 0.2
    followup_correction_fraction: float = 0.2
    invalidation_fraction: float = 0.05
    follow_up_days: int = 0  # 0: records on the randomization date only
    wait_timeout_s: float = 240.0


@dataclass(frozen=True)
class SubjectPlan:
    subject_id: str
    site: str
    pfi_months: float
    kelim_k: float
    maintenance: str
    ca125_channel: str  # json | fhir_bundle | fhir_observations
    ca125_before_screening: bool
    ca125_correction: bool
    followup_correction: bool
    invalidate: bool
    outcome: str  # recist | death | censored
    day: int  # of the PFS event, or of the last assessment when censored

    @property
    def randomizable(self) -> bool:
        return self.kelim_k >= K_REF


@dataclass
class Journey:
    plan: SubjectPlan
    stage: str = "planned"
    stuck: str | None = None
    arm: str | None = None
    randomization_number: str | None = None
    randomization_date: dt.date | None = None
    started_at: float | None = None
    finished_at: float | None = None
    notes: list[str] = field(default_factory=list)


def plan_subjects(config: LoadConfig) -> list[SubjectPlan]:
    rng = random.Random(config.seed)
    horizon = max(config.follow_up_days, 0)
    plans = []
    for i in range(config.subjects):
        site = f"S{1 + i % config.sites:02d}"
        favourable = rng.random() >= config.unfavourable_fraction
        if horizon:
            day = min(horizon, VISIT_EVERY * (1 + int(rng.expovariate(1 / 3))))
            outcome = "censored" if day == horizon else "recist"
            if outcome == "recist" and rng.random() < 0.15:
                outcome, day = "death", day - 11
        else:
            outcome, day = "censored", 0
        channel = ("json" if rng.random() >= config.fhir_fraction
                   else rng.choice(("fhir_bundle", "fhir_observations")))
        plans.append(SubjectPlan(
            subject_id=f"{site}-{config.tag}{i:04d}", site=site,
            pfi_months=rng.choice((8.0, 14.0)),
            kelim_k=0.045 + 0.001 * rng.randrange(6) if favourable else 0.012,
            maintenance=rng.choice(MAINTENANCE), ca125_channel=channel,
            ca125_before_screening=rng.random() < config.ca125_before_screening_fraction,
            ca125_correction=rng.random() < config.ca125_correction_fraction,
            followup_correction=rng.random() < config.followup_correction_fraction,
            invalidate=rng.random() < config.invalidation_fraction,
            outcome=outcome, day=day))
    return plans


def chemo_start(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=60)


def ca125_values(plan: SubjectPlan, today: dt.date) -> list[tuple[dt.date, float]]:
    start = chemo_start(today)
    return [(start + dt.timedelta(days=d), round(900.0 * math.exp(-plan.kelim_k * d), 3))
            for d in CA125_DAYS]


def fhir_observation(subject_id: str, day: dt.date, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "10334-1"}]},
        "subject": {"reference": f"Patient/{subject_id}"},
        "effectiveDateTime": f"{day.isoformat()}T08:30:00+00:00",
        "valueQuantity": {"value": value, "unit": "U/mL", "system": "http://unitsofmeasure.org",
                          "code": "U/mL"},
    }


def follow_up_records(plan: SubjectPlan, randomized: dt.date, arm: str) -> list[dict[str, Any]]:
    """RECIST every 90 days until her planned event or last visit; day-0 extras when there is
    no follow-up horizon (a chaos run cannot wait for time to pass)."""
    records: list[dict[str, Any]] = []
    for day in range(0, plan.day + 1, VISIT_EVERY):
        progressed = plan.outcome == "recist" and day == plan.day and day > 0
        records.append({"type": "recist",
                        "date": (randomized + dt.timedelta(days=day)).isoformat(),
                        "target_lesion_sum_mm": 75.0 if progressed else 50.0,
                        "new_lesions": False, "non_target_progression": False})
    if plan.day == 0:
        records.append({"type": "ca125", "date": randomized.isoformat(), "value": 35.0,
                        "unit": "U/mL"})
        if arm == "SCS_CHEMO":
            records.append({"type": "surgery", "date": randomized.isoformat(),
                            "complete_resection": True, "residual_disease": "none"})
    if plan.outcome == "death":
        records.append({"type": "death",
                        "date": (randomized + dt.timedelta(days=plan.day)).isoformat(),
                        "cause": "pulmonary embolism"})
    return records


async def poll(probe: Callable[[], Awaitable[bool]], timeout: float,
               interval: float = 0.4) -> bool:
    """True once `probe()` is true within `timeout` seconds (bounded loop)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 2):
        if await probe():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return False


class LoadGenerator:
    def __init__(self, client: HospitalClient, config: LoadConfig,
                 today: dt.date | None = None) -> None:
        self.client = client
        self.config = config
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.journeys = [Journey(p) for p in plan_subjects(config)]

    async def run(self) -> list[Journey]:
        """Every journey, started on a spread schedule, at most `concurrency` at once."""
        gate = asyncio.Semaphore(self.config.concurrency)
        t0 = time.monotonic()
        spacing = self.config.duration_s / max(1, len(self.journeys))

        async def one(index: int, journey: Journey) -> None:
            await asyncio.sleep(max(0.0, t0 + index * spacing - time.monotonic()))
            async with gate:
                journey.started_at = time.time()
                try:
                    await self.journey(journey)
                except Exception as exc:  # a bug in the load itself: recorded, not fatal
                    journey.stuck = f"load error: {type(exc).__name__}: {exc}"
                journey.finished_at = time.time()

        await asyncio.gather(*(one(i, j) for i, j in enumerate(self.journeys)))
        return self.journeys

    # --- one subject ---------------------------------------------------------------------------

    async def journey(self, j: Journey) -> None:
        p = j.plan
        ca125_sent = False
        if p.ca125_before_screening:
            early = await self.send_json_ca125(p, "ca125_before_screening")
            ca125_sent = early.status == 202 or early.applied
            j.notes.append(f"CA-125 before screening answered {early.status}")
        screening = await self.client.write(
            "screening", "eligibility", "/v1/screenings", subject_id=p.subject_id, site=p.site,
            json_body={"subject_id": p.subject_id,
                       "screening_date": (self.today - dt.timedelta(days=3)).isoformat(),
                       "facts": {**ELIGIBLE_FACTS, "platinum_free_interval_months": p.pfi_months}})
        if not screening.applied:
            j.stuck = f"screening answered {screening.status}: {screening.error}"
            return
        j.stage = "screened"
        if not await self.wait(lambda: self.known_to_prediction(p)):
            j.stuck = "screening never reached prediction"
            return
        if not ca125_sent:
            refused = await self.send_ca125(p)
            if refused is not None:
                j.stuck = f"CA-125 refused: {_why(refused)}"
                return
        j.stage = "ca125"
        if p.ca125_correction:
            day, value = ca125_values(p, self.today)[-1]
            await self.client.write(
                "ca125_correction", "prediction", f"/v1/subjects/{p.subject_id}/ca125/corrections",
                subject_id=p.subject_id, site=p.site,
                json_body={"date": day.isoformat(), "value": round(value * 1.02, 3),
                           "unit": "U/mL", "reason": CORRECTION_REASON})
        if not p.randomizable:
            await self.refused(j)
            return
        if not await self.wait(lambda: self.randomizable(p)):
            j.stuck = "never randomizable"
            return
        allocation = await self.client.write(
            "randomization", "randomization", "/v1/randomizations", subject_id=p.subject_id,
            site=p.site, json_body={"subject_id": p.subject_id, "consent_confirmed": True,
                                    "planned_maintenance": p.maintenance})
        if allocation.status != 201:
            j.stuck = f"randomization answered {allocation.status}: {allocation.error}"
            return
        body = allocation.response
        j.stage, j.arm = "randomized", body["arm"]
        j.randomization_number = body["randomization_number"]
        j.randomization_date = dt.date.fromisoformat(body["randomization_date"])
        if not await self.wait(lambda: self.in_follow_up(p)):
            j.stuck = "allocation never reached follow-up"
            return
        await self.follow_up(j)
        if p.invalidate:
            await self.client.write(
                "invalidation", "randomization",
                f"/v1/randomizations/{p.subject_id}/invalidation", subject_id=p.subject_id,
                site=p.site, role="investigator",
                json_body={"reason": "Prior malignancy found in the source documents"})
        j.stage = "done"

    async def refused(self, j: Journey) -> None:
        p = j.plan
        if not await self.wait(lambda: self.prediction_applied(p)):
            j.stuck = "prediction never reached randomization"
            return
        refusal = await self.client.write(
            "refusal", "randomization", "/v1/randomizations", subject_id=p.subject_id,
            site=p.site, json_body={"subject_id": p.subject_id, "consent_confirmed": True,
                                    "planned_maintenance": p.maintenance})
        j.stage = "refused" if refusal.status == 409 else f"refusal answered {refusal.status}"

    async def follow_up(self, j: Journey) -> None:
        p = j.plan
        assert j.randomization_date is not None and j.arm is not None
        first: WriteRecord | None = None
        for body in follow_up_records(p, j.randomization_date, j.arm):
            record = await self.client.write(
                "assessment", "followup", f"/v1/subjects/{p.subject_id}/assessments",
                subject_id=p.subject_id, site=p.site, json_body=body)
            first = first or record
        j.stage = "followed"
        if p.followup_correction and first is not None and first.status == 201:
            original = first.json_body()
            await self.client.write(
                "assessment_correction", "followup", f"/v1/subjects/{p.subject_id}/assessments",
                subject_id=p.subject_id, site=p.site,
                json_body={**original, "target_lesion_sum_mm": 48.0,
                           "supersedes": first.response["assessment_id"],
                           "correction_reason": "ruler misread at the baseline scan"})

    # --- CA-125 ---------------------------------------------------------------------------------

    async def send_json_ca125(self, p: SubjectPlan, kind: str = "ca125") -> WriteRecord:
        return await self.client.write(
            kind, "prediction", f"/v1/subjects/{p.subject_id}/ca125", subject_id=p.subject_id,
            site=p.site, json_body={
                "chemotherapy_start_date": chemo_start(self.today).isoformat(),
                "measurements": [{"date": d.isoformat(), "value": v, "unit": "U/mL"}
                                 for d, v in ca125_values(p, self.today)]})

    async def send_ca125(self, p: SubjectPlan) -> WriteRecord | None:
        """Send her CA-125 series by her channel; the first write that did not take effect."""
        if p.ca125_channel == "json":
            sent = await self.send_json_ca125(p)
            return None if sent.applied else sent
        start = await self.client.write(
            "ca125_start", "prediction", f"/v1/subjects/{p.subject_id}/ca125",
            subject_id=p.subject_id, site=p.site,
            json_body={"chemotherapy_start_date": chemo_start(self.today).isoformat(),
                       "measurements": []})
        if not start.applied:
            return start
        observations = [fhir_observation(p.subject_id, d, v)
                        for d, v in ca125_values(p, self.today)]
        if p.ca125_channel == "fhir_bundle":
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
                {"resource": o, "request": {"method": "POST", "url": "Observation"}}
                for o in observations]}
            sent = await self.client.write("ca125_fhir", "prediction", "/v1/fhir",
                                           subject_id=p.subject_id, site=p.site,
                                           fhir_body=bundle)
            return None if sent.applied else sent
        for o in observations:
            sent = await self.client.write("ca125_fhir", "prediction", "/v1/fhir/Observation",
                                           subject_id=p.subject_id, site=p.site, fhir_body=o)
            if not sent.applied:
                return sent
        return None

    # --- what the services know (reads) ---------------------------------------------------------

    async def wait(self, probe: Callable[[], Awaitable[bool]]) -> bool:
        return await poll(probe, self.config.wait_timeout_s)

    async def known_to_prediction(self, p: SubjectPlan) -> bool:
        r = await self.client.get("prediction", f"/v1/subjects/{p.subject_id}", site=p.site)
        return r is not None and r.status_code == 200

    async def randomizable(self, p: SubjectPlan) -> bool:
        r = await self.client.get("randomization", f"/v1/candidates/{p.subject_id}", site=p.site)
        return r is not None and r.status_code == 200 and bool(r.json().get("randomizable"))

    async def prediction_applied(self, p: SubjectPlan) -> bool:
        r = await self.client.get("randomization", f"/v1/candidates/{p.subject_id}", site=p.site)
        return (r is not None and r.status_code == 200
                and r.json().get("prediction_classification") is not None)

    async def in_follow_up(self, p: SubjectPlan) -> bool:
        r = await self.client.get("followup", f"/v1/subjects/{p.subject_id}", site=p.site)
        return r is not None and r.status_code == 200


def _why(record: WriteRecord) -> str:
    """A refused write, as a stuck journey reports it: status, problem title and detail."""
    if record.status is None:
        return f"no answer ({record.error})"
    body = record.response if isinstance(record.response, dict) else {}
    return (f"{record.kind} answered {record.status} {body.get('title', '')}: "
            f"{str(body.get('detail', ''))[:300]}")
