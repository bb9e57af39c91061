"""The campaign's report: one JSON document and the table printed from it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chaos.faults import FaultRecord
from chaos.load import Journey
from chaos.reconcile import Outcome

DETAIL_LIMIT = 100


def build_report(
    *, config: dict[str, Any], journeys: list[Journey], faults: list[FaultRecord],
    outcome: Outcome, wall_s: float, load_s: float,
) -> dict[str, Any]:
    r = outcome.reconciliation
    recoveries = [f.recovery_s for f in faults if f.recovery_s is not None]
    by_kind: dict[str, float] = {}
    for fault in faults:
        if fault.recovery_s is not None:
            by_kind[fault.kind] = max(by_kind.get(fault.kind, 0.0), round(fault.recovery_s, 2))
    stages = Counter(j.stage for j in journeys)
    return {
        "config": config,
        "wall_s": round(wall_s, 1),
        "load_s": round(load_s, 1),
        "faults": dict(Counter(f.kind for f in faults)),
        "faults_total": len(faults),
        "faults_not_recovered": sum(1 for f in faults if f.recovered_at_s is None),
        "fault_errors": [f"{f.index} {f.kind} {f.target}: {f.error}" for f in faults if f.error],
        "subjects": len(journeys),
        "subjects_detail": {**r.subjects, "stages": dict(stages),
                            "stuck": sum(1 for j in journeys if j.stuck)},
        "facts_sent": dict(r.facts_sent),
        "facts_sent_total": sum(r.facts_sent.values()),
        "unanswered_writes": dict(r.unanswered),
        "facts_applied": {s: dict(c) for s, c in r.applied.items()},
        "lost": len(r.lost),
        "duplicated": len(r.duplicated),
        "double_allocations": len(r.double_allocations),
        "audit_valid": outcome.audit_valid,
        "audit": outcome.audit,
        "dead_lettered": len(r.dead_lettered),
        "poison_dead_lettered": r.poison_dead_lettered,
        "max_recovery_s": round(max(recoveries), 2) if recoveries else None,
        "max_recovery_s_by_kind": by_kind,
        "settled": outcome.settled,
        "settle_s": round(outcome.settle_s, 1),
        "allocations": r.allocations,
        "max_stratum_imbalance": r.max_stratum_imbalance,
        "events_on_wire": r.events_on_wire,
        "redelivered_on_wire": r.redelivered_on_wire,
        "open_idempotency_claims": r.open_idempotency_claims,
        "late_retries": r.late_retries,
        "lost_details": r.lost[:DETAIL_LIMIT],
        "duplicated_details": r.duplicated[:DETAIL_LIMIT],
        "double_allocation_details": r.double_allocations[:DETAIL_LIMIT],
        "dead_letter_details": r.dead_lettered[:DETAIL_LIMIT],
        "stuck_journeys": [{"subject_id": j.plan.subject_id, "stage": j.stage, "why": j.stuck}
                           for j in journeys if j.stuck][:DETAIL_LIMIT],
        "fault_log": [{**asdict(f), "recovery_s": f.recovery_s} for f in faults],
    }


def _counts(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(values.items())) or "-"


def table(report: dict[str, Any]) -> str:
    applied = report["facts_applied"]
    late = report["late_retries"]
    changed = sum(1 for x in late if not x.get("same_answer", True))
    rows: list[tuple[str, str]] = [
        ("faults", f"{report['faults_total']} ({_counts(report['faults'])})"),
        ("subjects", f"{report['subjects']} (randomized {report['allocations']}, probes "
                     f"{report['subjects_detail'].get('probes', 0)}, stuck "
                     f"{report['subjects_detail']['stuck']})"),
        ("facts sent (acknowledged)", f"{report['facts_sent_total']} "
                                      f"({_counts(report['facts_sent'])})"),
        ("writes never answered", _counts(report["unanswered_writes"])),
        *[(f"facts applied: {service}", f"{sum(c.values())} ({_counts(c)})")
          for service, c in applied.items()],
        ("lost", str(report["lost"])),
        ("duplicated", str(report["duplicated"])),
        ("double allocations", str(report["double_allocations"])),
        ("audit chains valid", f"{report['audit_valid']} ({report['audit'].get('entries')} "
                               "entries: " + _counts({
                                   s: v.get("entries") for s, v
                                   in report["audit"].get("by_service", {}).items()}) + ")"),
        ("dead-lettered (not poison)", str(report["dead_lettered"])),
        ("poison messages dead-lettered", str(report["poison_dead_lettered"])),
        ("max recovery after a fault", f"{report['max_recovery_s']} s "
                                       f"({_counts(report['max_recovery_s_by_kind'])})"),
        ("faults not recovered", str(report["faults_not_recovered"])),
        ("settled", f"{report['settled']} in {report['settle_s']} s"),
        ("max stratum imbalance", str(report["max_stratum_imbalance"])),
        ("events on the wire (redelivered)", f"{report['events_on_wire']} "
                                             f"({report['redelivered_on_wire']})"),
        ("open idempotency claims", f"{report['open_idempotency_claims']} (sent again late: "
                                    f"{len(late)}, answered differently: {changed})"),
        ("wall clock", f"{report['wall_s']} s (load {report['load_s']} s)"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'measure'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
    return "\n".join(lines)


def write(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
