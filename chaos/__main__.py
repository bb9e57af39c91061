"""`python -m chaos`: run a seeded fault campaign, print the table, write the JSON report."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from chaos import REPO
from chaos.campaign import CampaignConfig, run_campaign
from chaos.report import table, write


def parse(argv: list[str] | None = None) -> tuple[CampaignConfig, Path]:
    defaults = CampaignConfig()
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--subjects", type=int, default=defaults.subjects)
    parser.add_argument("--faults", type=int, default=defaults.faults)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--replicas", type=int, default=defaults.replicas)
    parser.add_argument("--partitions", type=int, default=defaults.partitions)
    parser.add_argument("--kafka-port", type=int, default=defaults.kafka_port)
    parser.add_argument("--pg-port", type=int, default=defaults.pg_port)
    parser.add_argument("--port-base", type=int, default=defaults.port_base,
                        help="service ports: base+i for replica 0 (i = service), base+10+i ...")
    parser.add_argument("--run-dir", type=Path, default=defaults.run_dir,
                        help="logs and broker state")
    parser.add_argument("--pg-state-dir", type=Path, default=None,
                        help="PostgreSQL state (default /var/tmp/rescue-chaos as root)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds over which subjects start and faults happen")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--before-screening", type=float,
                        default=defaults.ca125_before_screening_fraction,
                        help="fraction of subjects whose CA-125 is sent before screening")
    parser.add_argument("--max-minutes", type=float, default=defaults.max_minutes)
    parser.add_argument("--out", type=Path, default=REPO / ".local" / "chaos" / "report.json")
    args = parser.parse_args(argv)
    config = CampaignConfig(
        subjects=args.subjects, faults=args.faults, seed=args.seed, replicas=args.replicas,
        partitions=args.partitions, kafka_port=args.kafka_port, pg_port=args.pg_port,
        port_base=args.port_base, run_dir=args.run_dir, pg_state_dir=args.pg_state_dir,
        duration_s=args.duration,
        concurrency=args.concurrency, ca125_before_screening_fraction=args.before_screening,
        max_minutes=args.max_minutes)
    return config, args.out


def main(argv: list[str] | None = None) -> int:
    config, out = parse(argv)
    report = asyncio.run(run_campaign(config))
    write(report, out)
    print(table(report))
    print(f"\nreport: {out}")
    clean = (report["lost"] == 0 and report["duplicated"] == 0
             and report["double_allocations"] == 0 and report["audit_valid"]
             and report["dead_lettered"] == 0)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
