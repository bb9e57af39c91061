#!/usr/bin/env bash
# `make chaos`: a seeded fault campaign against the real system (python -m chaos): a Kafka broker
# and a PostgreSQL cluster of its own (ports 29092 / 56432, state under .local/chaos, so that it
# runs beside `make run` and `make test`), two processes of every service (ports 28001-28014),
# at least 200 subjects and 50 faults; then the reconciliation table, also written as JSON to
# .local/chaos/report.json. Extra arguments go to `python -m chaos` (e.g. CHAOS_ARGS="--seed 7").
# Exit status 1 when anything was lost, duplicated, allocated twice or dead-lettered.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
KAFKA_PORT=${CHAOS_KAFKA_PORT:-29092}
PGPORT=${CHAOS_PGPORT:-56432}
RUN_DIR=${CHAOS_RUN_DIR:-$ROOT/.local/chaos}
if [[ $(id -u) -eq 0 ]]; then
  PG_STATE=${CHAOS_PG_STATE_DIR:-/var/tmp/rescue-chaos}  # reachable by the postgres user
else
  PG_STATE=${CHAOS_PG_STATE_DIR:-$RUN_DIR/state}
fi
mkdir -p "$RUN_DIR"

# The campaign stops everything it started; this covers a campaign that was itself killed.
cleanup() {
  local f pid
  for f in "$RUN_DIR"/logs/*.pid; do
    [[ -f $f ]] || continue
    pid=$(<"$f")
    if [[ $pid =~ ^[0-9]+$ ]] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q rescue; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  KAFKA_PORT=$KAFKA_PORT RESCUE_STATE_DIR=$RUN_DIR/state bash deploy/local/kafka.sh stop --purge \
    >/dev/null 2>&1 || true
  PGPORT=$PGPORT RESCUE_STATE_DIR=$PG_STATE bash deploy/local/postgres.sh stop --purge \
    >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$ROOT/.venv/bin/python" -m chaos --subjects 200 --faults 50 --kafka-port "$KAFKA_PORT" \
  --pg-port "$PGPORT" --port-base "${CHAOS_PORT_BASE:-28001}" --run-dir "$RUN_DIR" \
  --pg-state-dir "$PG_STATE" --out "$RUN_DIR/report.json" "$@"
