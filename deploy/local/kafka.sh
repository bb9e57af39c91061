#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, broker+controller in one JVM) built from the
# Maven Central jars: no Docker, no .tgz download. See shared/docs/kafka-local.md.
#
# Usage: kafka.sh start | stop [--purge] | status | fetch
#
# Env:
#   KAFKA_PORT             client (PLAINTEXT) port, default 9092
#   KAFKA_CONTROLLER_PORT  KRaft controller port, default KAFKA_PORT+1
#   RESCUE_STATE_DIR       instance state root, default <repo>/.local
#   RESCUE_CACHE_DIR       jar cache root, default ~/.cache/rescue
#   KAFKA_START_TIMEOUT    seconds to wait for readiness, default 90
#   KAFKA_EXTRA_JAVA_OPTS  appended to the JVM options
#
# Progress goes to stderr; `start` and `status` print KAFKA_BOOTSTRAP_SERVERS=... on stdout
# (last line), so `eval "$(deploy/local/kafka.sh start)"` works.
set -euo pipefail

# Keep in step with kafka.version in kafka-pom.xml (passed to mvn with -D, so this one wins).
# 3.9.x still accepts every old protocol version that aiokafka 0.14 uses.
readonly KAFKA_VERSION=3.9.1

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)
readonly SCRIPT_DIR REPO_ROOT
readonly POM=$SCRIPT_DIR/kafka-pom.xml

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
readonly KAFKA_PORT KAFKA_CONTROLLER_PORT
readonly STATE_DIR=${RESCUE_STATE_DIR:-$REPO_ROOT/.local}
readonly CACHE_DIR=${RESCUE_CACHE_DIR:-$HOME/.cache/rescue}/kafka-$KAFKA_VERSION
readonly LIBS_DIR=$CACHE_DIR/libs
readonly FETCH_MARKER=$CACHE_DIR/.fetch-complete
readonly INSTANCE_DIR=$STATE_DIR/kafka-$KAFKA_PORT
readonly DATA_DIR=$INSTANCE_DIR/data
readonly SERVER_PROPS=$INSTANCE_DIR/server.properties
readonly LOG4J_PROPS=$INSTANCE_DIR/log4j.properties
readonly LOG_FILE=$INSTANCE_DIR/kafka.log
readonly PID_FILE=$INSTANCE_DIR/kafka.pid
readonly CLUSTER_ID_FILE=$INSTANCE_DIR/cluster.id
readonly START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
readonly STOP_TIMEOUT=30
readonly BOOTSTRAP=127.0.0.1:$KAFKA_PORT

log() { printf 'kafka.sh[%s]: %s\n' "$KAFKA_PORT" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  echo "usage: $0 start | stop [--purge] | status | fetch" >&2
  exit 2
}

check_ports() {
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then die "invalid port: '$p'"; fi
  done
  [[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
}

# True when something accepts TCP connections on 127.0.0.1:$1 (bash /dev/tcp, no extra tools).
port_open() {
  # shellcheck disable=SC2016  # $1 expands in the inner shell
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# True when pid $1 is alive and is the broker of THIS instance (guards against pid reuse).
is_our_broker() {
  local pid=$1 cmdline
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *kafka.Kafka* && $cmdline == *"$SERVER_PROPS"* ]]
}

# Prints the broker pid: from the pid file, else by scanning /proc for this instance's command line
# (covers a lost pid file). Returns 1 when no broker of this instance runs.
broker_pid() {
  local pid f
  if [[ -f $PID_FILE ]]; then
    pid=$(<"$PID_FILE")
    if is_our_broker "$pid"; then echo "$pid"; return 0; fi
  fi
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    if is_our_broker "$pid"; then
      echo "$pid" >"$PID_FILE"
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# fetch: resolve the broker classpath once per version into the cache.
# ---------------------------------------------------------------------------------------------
pom_digest() { sha256sum "$POM" | cut -d' ' -f1; }

fetch_done() {
  [[ -f $FETCH_MARKER ]] && [[ $(head -n1 "$FETCH_MARKER") == "$(pom_digest)" ]]
}

cmd_fetch() {
  fetch_done && return 0
  command -v mvn >/dev/null || die "mvn not found (needs Maven 3.8+ and Java 17)"
  mkdir -p "$CACHE_DIR"
  # Two instances started at once share the cache: serialise the download.
  exec 8>"$CACHE_DIR/.fetch.lock"
  flock 8
  if ! fetch_done; then
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR (first run only)"
    local t0=$SECONDS
    # Start clean so jars of an interrupted or older resolution never mix into the classpath.
    rm -rf "$LIBS_DIR" "$FETCH_MARKER"
    # mvn output goes to stderr (stdout is reserved for the KAFKA_BOOTSTRAP_SERVERS line); sed
    # drops the stray ANSI resets Maven 3.8 prints even in batch mode. pipefail keeps mvn's status.
    mvn -q -B -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS_DIR" 2>&1 \
      | sed -e $'s/\x1b\\[[0-9;]*m//g' >&2 \
      || die "maven could not resolve the Kafka classpath (see output above)"
    compgen -G "$LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null \
      || die "kafka_2.13-$KAFKA_VERSION.jar missing in $LIBS_DIR after mvn"
    # Marker line 1 = pom digest, so editing the pom triggers a new resolution.
    { pom_digest; date -u +%FT%TZ; ls "$LIBS_DIR"; } >"$FETCH_MARKER"
    log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars in $((SECONDS - t0)) s"
  fi
  flock -u 8
  exec 8>&-
}

# ---------------------------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------------------------
write_config() {
  # Regenerated on every start so script changes apply; edit this script, not the file.
  cat >"$SERVER_PROPS" <<EOF
# Generated by deploy/local/kafka.sh -- overwritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
auto.create.topics.enable=true
# 3 partitions so per-key ordering across partitions is exercised by the tests.
num.partitions=3
# Single node: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
# Consumer groups form immediately instead of after the 3 s production delay.
group.initial.rebalance.delay.ms=0
# The 128 MiB default is allocated on the heap; keep it small with -Xmx512m.
log.cleaner.dedupe.buffer.size=2097152
EOF

  cat >"$LOG4J_PROPS" <<'EOF'
# Generated by deploy/local/kafka.sh -- overwritten on every start.
# Everything goes to the console, which kafka.sh redirects into kafka.log.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
# Per-request and per-partition state chatter is noise for a local broker.
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.kafka.clients.NetworkClient=WARN
EOF
}

format_storage() {
  # Formatting is a one-time step per instance: meta.properties marks a formatted log dir.
  [[ -f $DATA_DIR/meta.properties ]] && return 0
  if [[ ! -s $CLUSTER_ID_FILE ]]; then
    local out id
    out=$(java -Dlog4j.configuration="file:$LOG4J_PROPS" -cp "$LIBS_DIR/*" kafka.tools.StorageTool \
      random-uuid 2>&1) || die "StorageTool random-uuid failed: $out"
    # The console log appender shares stdout with the id, and format accepts any string as an
    # id, so keep only the line that is a 22-char base64url uuid.
    id=$(grep -E '^[A-Za-z0-9_-]{22}$' <<<"$out" | tail -n 1) || die "no cluster id in: $out"
    echo "$id" >"$CLUSTER_ID_FILE"
  fi
  log "formatting $DATA_DIR (cluster id $(<"$CLUSTER_ID_FILE"))"
  # Static controller.quorum.voters and no --standalone: the form that works from 3.9 through 4.x.
  java -Dlog4j.configuration="file:$LOG4J_PROPS" -cp "$LIBS_DIR/*" kafka.tools.StorageTool format \
    -t "$(<"$CLUSTER_ID_FILE")" -c "$SERVER_PROPS" --ignore-formatted >>"$LOG_FILE" 2>&1 \
    || { tail -n 20 "$LOG_FILE" >&2; die "storage format failed"; }
}

# Waits until the broker logged "Kafka Server started" after byte offset $2 and accepts TCP.
wait_ready() {
  local pid=$1 offset=$2 deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker (pid $pid) exited during startup; last 50 lines of $LOG_FILE:"
      tail -n 50 "$LOG_FILE" >&2
      rm -f "$PID_FILE"
      return 1
    fi
    if tail -c +"$((offset + 1))" "$LOG_FILE" 2>/dev/null | grep -q 'Kafka Server started' \
      && port_open "$KAFKA_PORT"; then
      return 0
    fi
    sleep 0.5
  done
  log "broker not ready after ${START_TIMEOUT} s; last 50 lines of $LOG_FILE:"
  tail -n 50 "$LOG_FILE" >&2
  # Do not leave a half-started broker holding the ports.
  stop_broker "$pid"
  return 1
}

cmd_start() {
  local pid offset p t0=$SECONDS
  check_ports
  if pid=$(broker_pid); then
    if port_open "$KAFKA_PORT"; then
      log "already running (pid $pid)"
      echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
      return 0
    fi
    # Started by someone else a moment ago and still booting: wait for it instead of a 2nd JVM.
    log "pid $pid is starting up; waiting for it"
    wait_ready "$pid" 0 || exit 1
    echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
    return 0
  fi
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    ! port_open "$p" || die "port $p is in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
  done
  command -v java >/dev/null || die "java not found (needs Java 17)"

  cmd_fetch
  mkdir -p "$DATA_DIR"
  rm -f "$PID_FILE"
  write_config
  format_storage

  offset=$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)
  log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (controller $KAFKA_CONTROLLER_PORT), log $LOG_FILE"
  # setsid: own session, so Ctrl-C / the end of the calling shell does not reach the broker.
  # The inner bash records its own pid and execs java, so the pid file holds the JVM's pid.
  # shellcheck disable=SC2016,SC2086  # $$ is for the inner shell; extra opts split on purpose
  setsid -f bash -c 'echo $$ >"$1"; shift; exec nohup "$@"' _ "$PID_FILE" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true ${KAFKA_EXTRA_JAVA_OPTS:-} \
    -Dlog4j.configuration="file:$LOG4J_PROPS" -cp "$LIBS_DIR/*" kafka.Kafka "$SERVER_PROPS" \
    </dev/null >>"$LOG_FILE" 2>&1

  # The pid file appears once the forked shell ran (a few ms).
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $PID_FILE ]] && break
    sleep 0.1
  done
  [[ -s $PID_FILE ]] || die "broker process did not start (see $LOG_FILE)"
  pid=$(<"$PID_FILE")

  wait_ready "$pid" "$offset" || exit 1
  log "ready in $((SECONDS - t0)) s (pid $pid)"
  echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
}

# ---------------------------------------------------------------------------------------------
# stop / status
# ---------------------------------------------------------------------------------------------
stop_broker() {
  local pid=$1 deadline=$((SECONDS + STOP_TIMEOUT))
  log "stopping broker (pid $pid)"
  # SIGTERM = controlled shutdown: logs are flushed, next start needs no recovery.
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${STOP_TIMEOUT} s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$PID_FILE"
}

cmd_stop() {
  local purge=0 pid
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) usage ;;
  esac
  if pid=$(broker_pid); then
    stop_broker "$pid"
    log "stopped"
  else
    rm -f "$PID_FILE"
    log "not running"
  fi
  if ((purge)) && [[ -d $INSTANCE_DIR ]]; then
    rm -rf -- "$INSTANCE_DIR"
    log "purged $INSTANCE_DIR"
  fi
}

cmd_status() {
  local pid
  if pid=$(broker_pid); then
    if port_open "$KAFKA_PORT"; then
      log "running (pid $pid)"
      echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
      return 0
    fi
    log "pid $pid alive but $BOOTSTRAP not accepting connections (starting or stuck)"
    return 1
  fi
  log "not running"
  return 1
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    start) [[ $# -eq 0 ]] || usage; cmd_start ;;
    stop) [[ $# -le 1 ]] || usage; cmd_stop "$@" ;;
    status) [[ $# -eq 0 ]] || usage; cmd_status ;;
    fetch) [[ $# -eq 0 ]] || usage; cmd_fetch ;;
    *) usage ;;
  esac
}

main "$@"
