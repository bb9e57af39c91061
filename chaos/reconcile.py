"""What the hospital was told against what every service stored and every topic carries.

A *fact* is an accepted write (2xx) of the client's ledger, identified by its Idempotency-Key.
For each fact the reconciliation looks for its effect in the service that took it and in every
service downstream: *lost* = an acknowledged fact (or an event announcing it) missing somewhere
after the system settled; *duplicated* = a fact applied more than once (two rows for one
idempotent request, a consumer's count above the screenings that exist, one key answered with
two different results). Events may repeat on the wire (at-least-once); applied effects may not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chaos.client import HospitalClient, ReplayCheck, WriteRecord
from chaos.stores import Snapshot, WireMessage, consumer_plan, settle, snapshot

SERVICES = ("eligibility", "prediction", "randomization", "followup")
CA125_KINDS = frozenset({"ca125", "ca125_before_screening", "ca125_fhir"})
ASSESSMENT_KINDS = frozenset({"assessment", "assessment_correction"})


@dataclass
class Reconciliation:
    facts_sent: Counter[str] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)
    applied: dict[str, Counter[str]] = field(
        default_factory=lambda: {s: Counter() for s in SERVICES})
    lost: list[dict[str, Any]] = field(default_factory=list)
    duplicated: list[dict[str, Any]] = field(default_factory=list)
    double_allocations: list[dict[str, Any]] = field(default_factory=list)
    dead_lettered: list[dict[str, Any]] = field(default_factory=list)
    poison_dead_lettered: int = 0
    events_on_wire: int = 0
    redelivered_on_wire: int = 0
    open_idempotency_claims: int = 0
    late_retries: list[dict[str, Any]] = field(default_factory=list)
    strata: dict[str, dict[str, int]] = field(default_factory=dict)
    max_stratum_imbalance: int = 0
    allocations: int = 0
    subjects: dict[str, int] = field(default_factory=dict)

    def miss(self, service: str, fact: str, subject: str | None, detail: str) -> None:
        self.lost.append({"service": service, "fact": fact, "subject_id": subject,
                          "detail": detail})

    def dup(self, service: str, fact: str, subject: str | None, detail: str) -> None:
        self.duplicated.append({"service": service, "fact": fact, "subject_id": subject,
                                "detail": detail})

    def hit(self, service: str, fact: str) -> None:
        self.applied[service][fact] += 1


def _group(rows: Iterable[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def ca125_sent(record: WriteRecord) -> list[tuple[dt.date, float]]:
    """(date, value) of every CA-125 value a write carried."""
    body = record.json_body()
    if record.kind != "ca125_fhir":
        return [(_as_date(m["date"]), float(m["value"])) for m in body.get("measurements", [])]
    resources = ([e["resource"] for e in body.get("entry", [])]
                 if body.get("resourceType") == "Bundle" else [body])
    return [(_as_date(r["effectiveDateTime"]), float(r["valueQuantity"]["value"]))
            for r in resources]


class Reconciler:
    def __init__(self, snap: Snapshot, ledger: list[WriteRecord], replays: list[ReplayCheck],
                 namespace: str) -> None:
        self.snap = snap
        self.namespace = namespace
        self.r = Reconciliation()
        self.t = snap.tables
        # One logical write per key; several ledger entries share a key only when duplicated.
        self.by_key: dict[tuple[str, str], list[WriteRecord]] = defaultdict(list)
        for record in ledger:
            self.by_key[(record.service, record.key)].append(record)
        self.facts = [records[0] for records in self.by_key.values()
                      if any(r.accepted for r in records)]
        self.replays = replays

    def run(self) -> Reconciliation:
        self.keys_answered_once()
        self.screenings()
        self.ca125()
        self.predictions_and_decisions()
        self.allocations()
        self.assessments()
        self.events()
        self.counts()
        return self.r

    # --- the ledger itself ----------------------------------------------------------------------

    def keys_answered_once(self) -> None:
        for (service, key), records in self.by_key.items():
            answers = {(r.status, repr(r.response)) for r in records if r.accepted}
            if len(answers) > 1:
                self.r.dup(service, records[0].kind, records[0].subject_id,
                           f"key {key} answered with {len(answers)} different results")
        for check in self.replays:
            if not check.same_answer:
                self.r.dup("client", check.kind, check.subject_id,
                           f"duplicate of key {check.original_key} answered {check.statuses}, "
                           f"first answer {check.original_status}")
        for record in self.facts:
            self.r.facts_sent[record.kind] += 1
        for records in self.by_key.values():
            if not any(r.answered for r in records):
                self.r.unanswered[records[0].kind] += 1

    def accepted(self, *kinds: str) -> list[WriteRecord]:
        return [f for f in self.facts if f.kind in kinds]

    # --- screenings -----------------------------------------------------------------------------

    def screenings(self) -> None:
        rows = {row["id"]: row for row in self.t["eligibility"]["screenings"]}
        by_subject = _group(self.t["eligibility"]["screenings"], "subject_id")
        on_wire = {m.payload.get("screening_id") for m in self.wire("rescue.eligibility.v1")
                   if m.event_type == "eligibility.screened"}
        followup = Counter(r["screening_id"] for r in self.t["followup"]["screenings"])
        acked: dict[str, set[str]] = defaultdict(set)
        for fact in self.accepted("screening"):
            sid, subject = str(fact.response["screening_id"]), fact.subject_id
            acked[subject].add(sid)
            if sid in rows:
                self.r.hit("eligibility", "screening")
            else:
                self.r.miss("eligibility", "screening", subject, f"screening {sid} not stored")
            if sid not in on_wire:
                self.r.miss("kafka", "screening", subject, f"no eligibility.screened for {sid}")
            n = followup.get(sid, 0)
            if n == 1:
                self.r.hit("followup", "screening")
            elif n == 0:
                self.r.miss("followup", "screening", subject, f"screening {sid} not recorded")
            else:
                self.r.dup("followup", "screening", subject, f"screening {sid} recorded {n}x")
        unanswered = Counter(records[0].subject_id for records in self.by_key.values()
                             if records[0].kind == "screening"
                             and not any(r.answered for r in records))
        for subject, stored in by_subject.items():
            expected = len(acked.get(subject, ()))
            if len(stored) > expected + unanswered.get(subject, 0):
                self.r.dup("eligibility", "screening", subject,
                           f"{len(stored)} screenings stored for {expected} acknowledged "
                           f"request(s) ({unanswered.get(subject, 0)} unanswered)")
        for service, table in (("prediction", "subjects"), ("randomization", "candidates")):
            seen = {r["subject_id"]: r["screenings_seen"] for r in self.t[service][table]}
            for subject, stored in by_subject.items():
                n = seen.get(subject, 0)
                if n == len(stored):
                    self.r.hit(service, "screening")
                elif n < len(stored):
                    self.r.miss(service, "screening", subject,
                                f"{n} of {len(stored)} screenings applied")
                else:
                    self.r.dup(service, "screening", subject,
                               f"{n} screenings applied, {len(stored)} exist")

    # --- CA-125 values and their corrections ----------------------------------------------------

    def ca125(self) -> None:
        stored: dict[tuple[str, dt.date], list[dict[str, Any]]] = defaultdict(list)
        for row in self.t["prediction"]["measurements"]:
            stored[(row["subject_id"], _as_date(row["effective_date"]))].append(row)
        corrections = _group(self.t["prediction"]["corrections"], "subject_id")
        corrected = {(r["subject_id"], _as_date(r["effective_date"]))
                     for r in self.t["prediction"]["corrections"]}
        for fact in self.accepted(*CA125_KINDS):
            for day, value in ca125_sent(fact):
                rows = stored.get((fact.subject_id, day), [])
                if not rows:
                    self.r.miss("prediction", fact.kind, fact.subject_id,
                                f"CA-125 of {day} ({value}) not stored (answered {fact.status})")
                elif len(rows) > 1:
                    self.r.dup("prediction", fact.kind, fact.subject_id,
                               f"CA-125 of {day} stored {len(rows)}x")
                elif (abs(rows[0]["value_u_ml"] - value) > 1e-6
                      and (fact.subject_id, day) not in corrected):
                    self.r.miss("prediction", fact.kind, fact.subject_id,
                                f"CA-125 of {day} stored as {rows[0]['value_u_ml']}, sent {value}")
                else:
                    self.r.hit("prediction", "ca125_value")
        acked = Counter(f.subject_id for f in self.accepted("ca125_correction"))
        for subject in set(acked) | set(corrections):
            n, expected = len(corrections.get(subject, [])), acked.get(subject, 0)
            if n < expected:
                self.r.miss("prediction", "ca125_correction", subject,
                            f"{n} corrections stored for {expected} acknowledged")
            elif n > expected and not self.unanswered_for(subject, "ca125_correction"):
                self.r.dup("prediction", "ca125_correction", subject,
                           f"{n} corrections stored for {expected} acknowledged")
            else:
                self.r.applied["prediction"]["ca125_correction"] += expected

    def unanswered_for(self, subject: str, kind: str) -> bool:
        return any(records[0].subject_id == subject and records[0].kind == kind
                   and not any(r.answered for r in records) for records in self.by_key.values())

    # --- prediction.completed and eligibility decisions downstream ------------------------------

    def predictions_and_decisions(self) -> None:
        latest: dict[str, int] = {}
        for row in self.t["prediction"]["predictions"]:
            latest[row["subject_id"]] = max(latest.get(row["subject_id"], 0), row["version"])
        applied = {
            "eligibility": {r["subject_id"]: r["prediction_version"]
                            for r in self.t["eligibility"]["subjects"]},
            "randomization": {r["subject_id"]: r["version"]
                              for r in self.t["randomization"]["predictions"]},
            "followup": {r["subject_id"]: r["version"] for r in self.t["followup"]["predictions"]},
        }
        for subject, version in latest.items():
            for service, versions in applied.items():
                got = versions.get(subject)
                if got == version:
                    self.r.hit(service, "prediction")
                else:
                    self.r.miss(service, "prediction", subject,
                                f"prediction v{version} made, v{got} applied")
        screenings = _group(self.t["eligibility"]["screenings"], "subject_id")
        candidates = {r["subject_id"]: r["eligibility_status"]
                      for r in self.t["randomization"]["candidates"]}
        decisions = {r["subject_id"]: r["decision"] for r in self.t["followup"]["decisions"]}
        for subject, rows in screenings.items():
            final = max(rows, key=lambda r: r["created_at"])["final_decision"]
            expected = {"eligible": "confirmed", "ineligible": "rejected"}.get(final)
            if expected is None:
                continue
            for service, got in (("randomization", candidates.get(subject)),
                                 ("followup", decisions.get(subject))):
                if got == expected:
                    self.r.hit(service, "eligibility_decision")
                else:
                    self.r.miss(service, "eligibility_decision", subject,
                                f"final decision {final}, applied {got}")

    # --- allocations ------------------------------------------------------------------------------

    def allocations(self) -> None:
        rows = _group(self.t["randomization"]["allocations"], "subject_id")
        followup = {r["subject_id"]: r for r in self.t["followup"]["subjects"]}
        self.r.allocations = len(self.t["randomization"]["allocations"])
        numbers: dict[str, set[str]] = defaultdict(set)
        for fact in self.accepted("randomization"):
            numbers[fact.subject_id].add(fact.response["randomization_number"])
        for subject, told in numbers.items():
            stored = rows.get(subject, [])
            if len(told) > 1 or len(stored) > 1:
                self.r.double_allocations.append({"subject_id": subject, "told": sorted(told),
                                                  "stored": len(stored)})
            number = next(iter(told))
            if any(r["randomization_number"] == number for r in stored):
                self.r.hit("randomization", "randomization")
            else:
                self.r.miss("randomization", "randomization", subject, f"{number} not stored")
            registered = followup.get(subject)
            if registered is None:
                self.r.miss("followup", "randomization", subject, f"{number} not registered")
            elif registered["randomization_number"] != number:
                self.r.double_allocations.append({
                    "subject_id": subject, "told": [number],
                    "followup": registered["randomization_number"]})
            else:
                self.r.hit("followup", "randomization")
        # An allocation the hospital was told did not happen (a retried request run twice answers
        # "Already randomized" to its own first run): applied twice, acknowledged never.
        for records in self.by_key.values():
            first = records[0]
            if (first.kind == "randomization" and first.subject_id in rows
                    and first.subject_id not in numbers
                    and any(r.answered for r in records)):
                self.r.dup("randomization", "randomization", first.subject_id,
                           f"allocated, but answered {[r.status for r in records]}")
        for record in (r for rs in self.by_key.values() for r in rs
                       if r.kind == "refusal" and r.status == 409):
            if record.subject_id in rows:
                self.r.double_allocations.append({"subject_id": record.subject_id,
                                                  "told": ["refused"], "stored": 1})
        for fact in self.accepted("invalidation"):
            stored = rows.get(fact.subject_id, [])
            if stored and stored[0]["invalidated_at"] is not None:
                self.r.hit("randomization", "invalidation")
            else:
                self.r.miss("randomization", "invalidation", fact.subject_id, "not invalidated")
            registered = followup.get(fact.subject_id)
            if registered is not None and registered["invalidated"]:
                self.r.hit("followup", "invalidation")
            else:
                self.r.miss("followup", "invalidation", fact.subject_id, "not flagged")
        slots = Counter((r["stratum_key"], r["slot_index"])
                        for r in self.t["randomization"]["allocations"])
        for (stratum, slot), n in slots.items():
            if n > 1:
                self.r.double_allocations.append({"stratum": stratum, "slot": slot, "uses": n})
        self.balance()

    def balance(self) -> None:
        by_stratum: dict[str, Counter[str]] = defaultdict(Counter)
        for row in self.t["randomization"]["allocations"]:
            by_stratum[row["stratum_key"]][row["arm"]] += 1
        counters = {r["stratum_key"]: r for r in self.t["randomization"]["strata"]}
        for stratum, arms in sorted(by_stratum.items()):
            scs, chemo = arms.get("SCS_CHEMO", 0), arms.get("CHEMO", 0)
            self.r.strata[stratum] = {"SCS_CHEMO": scs, "CHEMO": chemo}
            self.r.max_stratum_imbalance = max(self.r.max_stratum_imbalance, abs(scs - chemo))
            counter = counters.get(stratum)
            if counter is None or (counter["scs_chemo"], counter["chemo"]) != (scs, chemo):
                self.r.double_allocations.append({"stratum": stratum, "rows": [scs, chemo],
                                                  "counter": counter and [counter["scs_chemo"],
                                                                          counter["chemo"]]})

    # --- follow-up records --------------------------------------------------------------------

    def assessments(self) -> None:
        rows = {r["id"]: r for r in self.t["followup"]["assessments"]}
        per_subject = Counter(r["subject_id"] for r in self.t["followup"]["assessments"])
        acked: Counter[str] = Counter()
        for fact in self.accepted(*ASSESSMENT_KINDS):
            acked[fact.subject_id] += 1
            if str(fact.response["assessment_id"]) in rows:
                self.r.hit("followup", fact.kind)
            else:
                self.r.miss("followup", fact.kind, fact.subject_id,
                            f"record {fact.response['assessment_id']} not stored")
        for subject, n in per_subject.items():
            if n > acked.get(subject, 0) and not (self.unanswered_for(subject, "assessment")
                                                  or self.unanswered_for(
                                                      subject, "assessment_correction")):
                self.r.dup("followup", "assessment", subject,
                           f"{n} records stored for {acked.get(subject, 0)} acknowledged")

    # --- events: outbox → wire → every consumer's inbox ---------------------------------------

    def wire(self, base: str) -> list[WireMessage]:
        return self.snap.wire.get(base, [])

    def events(self) -> None:
        wire_ids: dict[str, Counter[str]] = {}
        for base, messages in self.snap.wire.items():
            wire_ids[base] = Counter(m.event_id for m in messages if m.event_id)
            self.r.events_on_wire += len(wire_ids[base])
            self.r.redelivered_on_wire += sum(n - 1 for n in wire_ids[base].values())
        all_on_wire = {e for ids in wire_ids.values() for e in ids}
        for service in SERVICES:
            for row in self.t[service]["outbox"]:
                if row["published_at"] is None:
                    self.r.miss(service, row["event_type"], None,
                                f"event {row['event_id']} still in the outbox")
                elif row["event_id"] not in all_on_wire:
                    self.r.miss("kafka", row["event_type"], None,
                                f"event {row['event_id']} marked published, not on the wire")
            self.r.open_idempotency_claims += len(self.t[service]["open_claims"])
        for service, (topics, types) in consumer_plan().items():
            group = f"{self.namespace}{service}"
            inbox = {r["event_id"] for r in self.t[service]["inbox"] if r["consumer"] == group}
            for base in topics:
                unique = {m.event_id: m for m in self.wire(base)
                          if m.event_id and not m.poison and m.event_type in types}
                for event_id, message in unique.items():
                    if event_id in inbox:
                        self.r.hit(service, "event")
                    else:
                        self.r.miss(service, message.event_type or "?", message.subject_id,
                                    f"event {event_id} not applied")
        for base, letters in self.snap.dead_letters.items():
            for letter in letters:
                if letter.poison:
                    self.r.poison_dead_lettered += 1
                    continue
                self.r.dead_lettered.append({
                    "topic": base, "event_id": letter.event_id,
                    "event_type": letter.event_type, "subject_id": letter.subject_id,
                    "group": letter.headers.get("dlt.consumer_group"),
                    "error": letter.headers.get("dlt.error", "")[:300],
                    "failed_at": letter.headers.get("dlt.failed_at")})

    def counts(self) -> None:
        subjects = {f.subject_id for f in self.facts if not f.probe}
        probes = {f.subject_id for f in self.facts if f.probe}
        self.r.subjects = {"load": len(subjects), "probes": len(probes),
                           "randomized": self.r.allocations}



@dataclass
class Outcome:
    """The reconciliation with how the system settled and what the audit check said."""

    reconciliation: Reconciliation
    settled: bool
    settle_s: float
    audit: dict[str, Any]

    @property
    def audit_valid(self) -> bool:
        return self.audit.get("valid") is True


async def audit_verification(client: HospitalClient) -> dict[str, Any]:
    """Every service's audit chain verified: valid only when all four are."""
    by_service: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        response = await client.get(service, "/v1/audit/verify", site=None, role="monitor",
                                    attempts=10)
        by_service[service] = (
            dict(response.json()) if response is not None and response.status_code == 200
            else {"valid": None, "error": None if response is None else response.text[:300]})
    return {"valid": all(v.get("valid") is True for v in by_service.values()),
            "entries": sum(v.get("entries") or 0 for v in by_service.values()),
            "by_service": by_service}


async def retry_open_claims(snap: Snapshot, client: HospitalClient,
                            claim_ttl_s: float) -> list[dict[str, Any]]:
    """A hospital that never saw its answer sends the request again, same key: do that for every
    write whose Idempotency-Key claim was left unfinished, once the claim may be retaken."""
    ledger = {(r.service, r.key): r for r in client.ledger}
    open_claims = [(service, row) for service in SERVICES
                   for row in snap.tables[service]["open_claims"]]
    if not open_claims:
        return []
    oldest_needed = max(row["created_at"] for _, row in open_claims)
    wait = claim_ttl_s + 2 - (dt.datetime.now(dt.UTC) - oldest_needed).total_seconds()
    await asyncio.sleep(min(max(0.0, wait), claim_ttl_s + 5))
    retried = []
    for service, row in open_claims:
        record = ledger.get((service, row["key"]))
        entry: dict[str, Any] = {"service": service, "key": row["key"],
                                 "claimed_at": str(row["created_at"])}
        if record is not None:
            check = await client.duplicate(record, copies=1)
            entry.update(kind=record.kind, subject_id=record.subject_id,
                         first_answer=record.status, late_answer=check.statuses[0],
                         same_answer=check.same_answer)
        retried.append(entry)
    return retried


async def reconcile_system(
    database_urls: dict[str, str], bootstrap: str, namespace: str, client: HospitalClient,
    settle_timeout: float = 300.0, claim_ttl_s: float = 60.0,
) -> Outcome:
    """Let the system settle (bounded), read every store and topic, reconcile. Writes whose
    idempotency claim was left open are first sent once more (see `retry_open_claims`)."""
    settled, settle_s = await settle(database_urls, bootstrap, namespace, settle_timeout)
    snap = await snapshot(database_urls, bootstrap, namespace)
    late = await retry_open_claims(snap, client, claim_ttl_s)
    if late:
        settled, more = await settle(database_urls, bootstrap, namespace, settle_timeout)
        settle_s += more
        snap = await snapshot(database_urls, bootstrap, namespace)
    result = Reconciler(snap, client.ledger, client.replays, namespace).run()
    result.late_retries = late
    return Outcome(result, settled, settle_s, await audit_verification(client))
