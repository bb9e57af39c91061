#!/usr/bin/env bash
# `make test`: a Kafka broker and a PostgreSQL cluster for the tests, the whole pytest suite,
# then both stopped. The test broker uses its own port so that it can run beside `make run`.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TEST_KAFKA_PORT=${TEST_KAFKA_PORT:-19092}
# The broker that the outage test stops and restarts (tests/e2e/conftest.py).
# The tests' tokens are signed with the public local secret: development mode.
export RESCUE_ENV=development
export RESCUE_RESTARTABLE_KAFKA_PORT=${RESCUE_RESTARTABLE_KAFKA_PORT:-$((TEST_KAFKA_PORT + 100))}

cleanup() {
  KAFKA_PORT=$TEST_KAFKA_PORT bash deploy/local/kafka.sh stop --purge || true
  bash deploy/local/postgres.sh stop || true
}
trap cleanup EXIT

# The helm client of the chart tests (tests/integration/test_helm.py): built once, then cached.
# Without it they skip, unless RESCUE_REQUIRE_HELM=1 (CI).
if helm=$(bash deploy/local/helm.sh path | tail -n 1); then
  export RESCUE_HELM=$helm
elif [[ ${RESCUE_REQUIRE_HELM:-} == 1 ]]; then
  exit 1
fi

kafka=$(KAFKA_PORT=$TEST_KAFKA_PORT bash deploy/local/kafka.sh start | tail -n 1)
postgres=$(PG_FAST=1 bash deploy/local/postgres.sh start | tail -n 1)
export "${kafka?}" "${postgres?}"
echo "$kafka $postgres"
"$ROOT/.venv/bin/pytest" "$@"
