#!/usr/bin/env bash
# `make run`: a local Kafka broker and the four services on SQLite files, all on 127.0.0.1, and the
# trial console on 8000 (local development sign-in).
# Logs go to .local/run/<service>.log; Ctrl-C stops the services, then the broker.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
RUN_DIR=$ROOT/.local/run
mkdir -p "$RUN_DIR"
declare -A PORTS=([eligibility]=8001 [prediction]=8002 [randomization]=8003 [followup]=8004)
ORDER=(eligibility prediction randomization followup)
PIDS=()

STOPPING=0
stop_all() {
  STOPPING=1
  trap - INT TERM EXIT
  echo "stopping services..."
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash deploy/local/kafka.sh stop || true
  echo "stopped."
}
trap stop_all INT TERM EXIT

# A developer machine: the services accept tokens of `make token` (the public local secret).
export RESCUE_ENV=development
bootstrap=$(bash deploy/local/kafka.sh start | tail -n 1)
export "${bootstrap?}"

for service in "${ORDER[@]}"; do
  port=${PORTS[$service]}
  DATABASE_URL="sqlite+aiosqlite:///$RUN_DIR/$service.db" PORT=$port HOST=127.0.0.1 \
    "$ROOT/.venv/bin/rescue-$service" serve >"$RUN_DIR/$service.log" 2>&1 &
  PIDS+=("$!")
done

# HTTP status of a service's readiness probe (000 when it does not answer).
readiness() {
  "$ROOT/.venv/bin/python" - "$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=2).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except OSError:
    print("000")
PY
}

for service in "${ORDER[@]}"; do
  for _ in $(seq 1 120); do
    [[ $(readiness "${PORTS[$service]}") == 200 ]] && break
    sleep 0.5
  done
done

# The trial console: web pages over the four services' APIs (no database, no Kafka of its own).
PORT=8000 HOST=127.0.0.1 DEV_SIGN_IN=true "$ROOT/.venv/bin/rescue-console" serve \
  >"$RUN_DIR/console.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 60); do
  [[ $(readiness 8000) == 200 ]] && break
  sleep 0.5
done

echo
echo "RESCUE platform running (Kafka at ${KAFKA_BOOTSTRAP_SERVERS}):"
for service in "${ORDER[@]}"; do
  port=${PORTS[$service]}
  state=$(readiness "$port")
  printf '  %-14s http://127.0.0.1:%s  (docs /docs, readiness %s, log .local/run/%s.log)\n' \
    "$service" "$port" "$state" "$service"
done
printf '  %-14s http://127.0.0.1:8000  (readiness %s, log .local/run/console.log)\n' \
  console "$(readiness 8000)"
echo
echo "Get a token:  make token SITE=S01 ROLES=site_user"
echo "Press Ctrl-C to stop."
wait -n "${PIDS[@]}" || true
((STOPPING)) || echo "a service exited; see its log in .local/run/" >&2
