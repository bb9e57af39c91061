#!/usr/bin/env bash
# `make bench` (`make bench QUICK=1` for a smoke run): every hot path beside its ceiling, against
# a Kafka broker (BENCH_KAFKA_PORT, default 19292) and a PostgreSQL cluster (BENCH_PG_PORT,
# default 55437) of its own, both stopped afterwards. Writes .local/bench/results.json and
# .local/bench/scaling.png. Extra arguments go to bench/run.py (e.g. `--only kelim,survival`).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export KAFKA_PORT=${BENCH_KAFKA_PORT:-19292}
export RESCUE_ENV=development  # the benchmarks' tokens use the public local secret
export PGPORT=${BENCH_PG_PORT:-55437}
cleanup() {
  bash deploy/local/kafka.sh stop --purge >/dev/null 2>&1 || true
  bash deploy/local/postgres.sh stop --purge >/dev/null 2>&1 || true
}
trap cleanup EXIT
bootstrap=$(bash deploy/local/kafka.sh start | tail -n 1)
bootstrap=${bootstrap#KAFKA_BOOTSTRAP_SERVERS=}
database=$(bash deploy/local/postgres.sh start | tail -n 1)
database=${database#TEST_DATABASE_URL=}
"$ROOT/.venv/bin/python" bench/run.py --bootstrap "$bootstrap" --pg "$database" "$@"
