"""`make bench`: every hot path measured beside its ceiling in the same run, ratios printed.

Writes `.local/bench/results.json` and draws `.local/bench/scaling.png` (one curve per measure,
time against work on log-log axes, so the slope reads directly). Sections:
events (bench/event_flow.py), write endpoints and allocation (bench/writes.py, PostgreSQL),
KELIM cohorts (bench/kelim_batch.py), survival (bench/survival.py), memory (bench/memory.py).
Usage: `python bench/run.py --bootstrap HOST:PORT --pg ADMIN_URL [--quick] [--only a,b]`.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from common import ROOT, table

OUT = ROOT / ".local" / "bench"
GOALS = {  # (key, goal, "<=" or ">=")
    "event_p99_ms": (25.0, "<="),
    "event_p99_ratio_to_bare": (3.0, "<="),
    "screening_ratio_to_bare": (0.6, ">="),
    "randomization_ratio_to_bare": (0.6, ">="),
    "allocations_per_s_pg_50_clients": (300.0, ">="),
    "kelim_batch_series_per_s": (100_000.0, ">="),
    "pfs_100k_s": (2.0, "<="),
    "pfs_100k_ratio_to_lifelines": (1.0, "<="),
}


def _events(args: argparse.Namespace) -> dict[str, Any]:
    import event_flow

    return event_flow.run(args.bootstrap, count=60 if args.quick else 500, pg=args.pg,
                          bursts=(10, 30) if args.quick else (10, 50, 200))


def _writes(args: argparse.Namespace) -> dict[str, Any]:
    import writes

    return writes.run(args.bootstrap, args.pg, count=50 if args.quick else 200, clients=50,
                      scaling=(1, 10, 50) if args.quick else (1, 10, 50, 100))


def _kelim(args: argparse.Namespace) -> dict[str, Any]:
    import kelim_batch

    return kelim_batch.run(quick=args.quick)


def _survival(args: argparse.Namespace) -> dict[str, Any]:
    import survival

    out: dict[str, Any] = dict(survival.run(quick=args.quick, repeat=1 if args.quick else 2))
    if out.get("pfs_100k_s") and out.get("pfs_100k_lifelines_s"):
        out["pfs_100k_ratio_to_lifelines"] = out["pfs_100k_s"] / out["pfs_100k_lifelines_s"]
    return out


def _memory(args: argparse.Namespace) -> dict[str, Any]:
    import memory

    return memory.run(quick=args.quick)


SECTIONS = {"events": _events, "writes": _writes, "kelim": _kelim, "survival": _survival,
            "memory": _memory}


def verdicts(results: dict[str, Any]) -> list[list[object]]:
    rows: list[list[object]] = []
    for key, (goal, sense) in GOALS.items():
        value = results.get(key)
        if value is None:
            continue
        met = value <= goal if sense == "<=" else value >= goal
        rows.append([key, float(value), f"{sense} {goal:g}", "met" if met else "NOT met"])
    for kind, goal in (("rss_idle_mb", 150.0), ("rss_after_use_mb", 250.0)):
        for service, value in results.get(kind, {}).items():
            rows.append([f"{kind}.{service}", float(value), f"<= {goal:g}",
                         "met" if value <= goal else "NOT met"])
    return rows


def scaling_series(r: dict[str, Any]) -> dict[str, tuple[str, list[tuple[float, float]]]]:
    """Measure -> (unit of work, [(work, seconds)]) for the scaling plot and table."""
    series: dict[str, tuple[str, list[tuple[float, float]]]] = {}
    if "event_burst_drain_s" in r:
        series["events: burst applied by all 3 consumers"] = ("events", [
            (float(k), v) for k, v in r["event_burst_drain_s"].items()])
    if "allocations_per_s_by_clients" in r:
        count = r.get("allocation_count", 200)
        series[f"allocation: {count} requests, PostgreSQL"] = ("clients", sorted(
            (float(k), count / v) for k, v in r["allocations_per_s_by_clients"].items()))
    for key, label in (("kelim_csv_s", "KELIM: POST CSV, end to end"),
                       ("kelim_fit_s", "KELIM: numpy fit alone (ceiling)")):
        if key in r:
            series[label] = ("series", [(float(k), v) for k, v in r[key].items()])
    for prefix, label in (("pfs_{}_s", "PFS: POST ADTTE, end to end"),
                          ("pfs_{}_lifelines_s", "PFS: lifelines KM+log-rank+Cox (ceiling)"),
                          ("pfs_live_{}_s", "PFS: live GET")):
        points = [(n, r.get(prefix.format(tag))) for n, tag in
                  ((1e3, "1k"), (1e4, "10k"), (1e5, "100k"))]
        if any(v for _, v in points):
            series[label] = ("subjects", [(n, v) for n, v in points if v])
    return series


def plot(series: dict[str, tuple[str, list[tuple[float, float]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6), dpi=110)
    axes = figure.add_subplot()
    for label, (unit, points) in series.items():
        xs, ys = zip(*sorted(points), strict=True)
        axes.plot(xs, ys, marker="o", label=f"{label} (x: {unit})")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("work: events, clients, series or subjects (log)")
    axes.set_ylabel("seconds (log)")
    axes.set_title("RESCUE hot paths: time against work (slope 1 = linear)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="lower left")  # the empty corner: few clients, short times
    figure.tight_layout()
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--pg", required=True, help="PostgreSQL admin URL (asyncpg)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one run each")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma list among {', '.join(SECTIONS)}")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"quick": args.quick, "machine": platform.node(),
                               "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for name in args.only.split(","):
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        results |= SECTIONS[name](args)
        results[f"{name}_bench_s"] = time.perf_counter() - started
        (OUT / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    if "allocations_per_s_by_clients" in results:
        results["allocation_count"] = 50 if args.quick else 200
    series = scaling_series(results)
    table("Goals: each figure beside its goal (ratios are measured in the same run)",
          ["measure", "value", "goal", "verdict"], verdicts(results))
    table("Scaling: seconds for each amount of work", ["measure", "unit", "work", "seconds"],
          [[label, unit, f"{x:,.0f}", y] for label, (unit, points) in series.items()
           for x, y in sorted(points)])
    (OUT / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    if series:
        plot(series, OUT / "scaling.png")
    print(f"\nwritten: {OUT / 'results.json'}" + (f", {OUT / 'scaling.png'}" if series else ""))


if __name__ == "__main__":
    main()
