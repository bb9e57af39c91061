"""A small fault campaign (`make chaos` in miniature) against the real system.

A broker and a PostgreSQL cluster of its own (ports 29192 / 56532 by default, so that it runs
beside `make run`, `make test`'s shared broker and a full `make chaos`), two processes of every
service, 30 seeded subject journeys and 8 faults: every kind at least once (service SIGKILL,
broker stop/start and SIGKILL, PostgreSQL fast restart, duplicated retries with the same
Idempotency-Key, a deliberate poison message). After the system settles nothing acknowledged may
be lost or applied twice, no subject allocated twice, every audit chain valid and nothing
dead-lettered but the poison message.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest

from chaos.campaign import CampaignConfig, run_campaign
from chaos.report import table, write

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def _can_run_local_infrastructure() -> str | None:
    if shutil.which("java") is None or shutil.which("mvn") is None:
        return "java and mvn are needed for a broker of the campaign's own"
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb") and os.geteuid() != 0:
        return "PostgreSQL server binaries are needed (apt-get install postgresql)"
    return None


async def test_small_fault_campaign_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    if why := _can_run_local_infrastructure():
        pytest.skip(why)
    config = CampaignConfig(
        subjects=30, faults=8, seed=20261130,
        kafka_port=int(os.environ.get("CHAOS_TEST_KAFKA_PORT", "29192")),
        pg_port=int(os.environ.get("CHAOS_TEST_PGPORT", "56532")),
        port_base=int(os.environ.get("CHAOS_TEST_PORT_BASE", "28101")),
        run_dir=tmp_path, max_minutes=8, settle_timeout_s=120)
    report = await run_campaign(config)
    write(report, tmp_path / "report.json")
    print(table(report))

    where = f"(report and logs in {tmp_path})"
    assert report["faults_total"] == 8 and len(report["faults"]) == 6, report["faults"]
    assert report["faults_not_recovered"] == 0, (report["fault_errors"], where)
    assert report["settled"], where
    assert report["subjects_detail"]["stuck"] == 0, (report["stuck_journeys"], where)
    assert report["lost"] == 0, (report["lost_details"][:10], where)
    assert report["duplicated"] == 0, (report["duplicated_details"][:10], where)
    assert report["double_allocations"] == 0, report["double_allocation_details"]
    assert report["audit_valid"], report["audit"]
    assert report["dead_lettered"] == 0, (report["dead_letter_details"][:5], where)
    assert report["poison_dead_lettered"] >= 1  # the deliberate one, once per consumer group
