#!/usr/bin/env bash
# `make bench`: benchmarks against a broker of their own (port 19292), stopped afterwards.
# Extra arguments go to the event-flow benchmark (e.g. `make bench BENCH_ARGS="--count 500"`).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export KAFKA_PORT=${BENCH_KAFKA_PORT:-19292}
export RESCUE_ENV=development  # the benchmarks' tokens use the public local secret
trap 'bash deploy/local/kafka.sh stop --purge >/dev/null 2>&1 || true' EXIT
bootstrap=$(bash deploy/local/kafka.sh start | tail -n 1)
bootstrap=${bootstrap#KAFKA_BOOTSTRAP_SERVERS=}
"$ROOT/.venv/bin/python" bench/event_flow.py --bootstrap "$bootstrap" "$@"
"$ROOT/.venv/bin/python" bench/allocation.py --bootstrap "$bootstrap"
"$ROOT/.venv/bin/python" bench/kelim_batch.py
