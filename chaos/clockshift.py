"""Run a service's entry point with its wall clock shifted forward (a simulated later date).

`python -m chaos.clockshift rescue_followup.__main__ serve` with `CHAOS_CLOCK_OFFSET_DAYS=750`:
the process believes it is 750 days later (time-machine moves the wall clock only; the monotonic
clock, the broker and the database are untouched). The two-replica test uses it so that
follow-up assessments can be dated two years after randomization, as the in-process trial
journey does with time-machine.
"""

from __future__ import annotations

import importlib
import os
import sys
from datetime import UTC, datetime, timedelta

import time_machine


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m chaos.clockshift <module with main()> [args...]")
    module, *args = sys.argv[1:]
    days = float(os.environ.get("CHAOS_CLOCK_OFFSET_DAYS", "0"))
    sys.argv = [module, *args]
    with time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True):
        importlib.import_module(module).main()


if __name__ == "__main__":
    main()
