#!/usr/bin/env bash
# `make test`: a Kafka broker and a PostgreSQL cluster for the tests, the whole pytest suite,
# then both stopped. The test broker uses its own port so that it can run beside `make run`.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export KAFKA_PORT=${TEST_KAFKA_PORT:-19092}

cleanup() {
  bash deploy/local/kafka.sh stop --purge >/dev/null 2>&1 || true
  bash deploy/local/postgres.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

kafka=$(bash deploy/local/kafka.sh start | tail -n 1)
postgres=$(PG_FAST=1 bash deploy/local/postgres.sh start | tail -n 1)
export "${kafka?}" "${postgres?}"
echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS TEST_DATABASE_URL=$TEST_DATABASE_URL"
unset KAFKA_PORT
"$ROOT/.venv/bin/pytest" "$@"
