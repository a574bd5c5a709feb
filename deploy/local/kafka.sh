#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) from Maven Central jars, run on the machine's Java 17.
#   deploy/local/kafka.sh fetch            resolve the jars into the cache (idempotent)
#   deploy/local/kafka.sh start [PORT]     format storage if needed, start, wait until it answers
#   deploy/local/kafka.sh stop             stop the broker started by `start`
#   deploy/local/kafka.sh status
# Environment: KAFKA_VERSION (4.4.0), KAFKA_PORT (9092), STREAMLOOP_CACHE (~/.cache/streamloop),
#              KAFKA_DATA_DIR (fresh storage per start unless set), KAFKA_HEAP (512m).
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
SCALA_VERSION="2.13"
CACHE="${STREAMLOOP_CACHE:-$HOME/.cache/streamloop}"
HOME_DIR="$CACHE/kafka-$KAFKA_VERSION"
LIBS="$HOME_DIR/libs"
RUN_DIR="${KAFKA_RUN_DIR:-$CACHE/run}"
PORT="${2:-${KAFKA_PORT:-9092}}"
CONTROLLER_PORT="$((PORT + 1))"
PID_FILE="$RUN_DIR/kafka-$PORT.pid"
LOG_FILE="$RUN_DIR/kafka-$PORT.log"

log() { echo "[kafka.sh] $*" >&2; }

fetch() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn not found: install Maven"; exit 1; }
  mkdir -p "$HOME_DIR"
  # A throwaway pom whose only job is to let Maven resolve the broker and its runtime closure.
  cat > "$HOME_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.streamloop.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  log "resolving Apache Kafka $KAFKA_VERSION from Maven Central into $LIBS"
  rm -rf "$LIBS"
  mvn -q -B -f "$HOME_DIR/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS" >"$HOME_DIR/mvn.log" 2>&1 \
    || { cat "$HOME_DIR/mvn.log" >&2; log "maven resolution failed"; exit 1; }
  touch "$LIBS/.complete"
}

is_up() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

start() {
  fetch
  mkdir -p "$RUN_DIR"
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    log "already running on $PORT (pid $(cat "$PID_FILE"))"; return 0
  fi
  local data="${KAFKA_DATA_DIR:-$RUN_DIR/data-$PORT}"
  if [ -z "${KAFKA_DATA_DIR:-}" ]; then rm -rf "$data"; fi
  mkdir -p "$data"
  local props="$RUN_DIR/server-$PORT.properties"
  cat > "$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.cleaner.backoff.ms=1000
PROPS
  cat > "$RUN_DIR/log4j2.properties" <<'L4J'
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = STDOUT
L4J
  local cp="$LIBS/*"
  local heap="${KAFKA_HEAP:-512m}"
  local jvm=(-Xms"$heap" -Xmx"$heap" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
             -Dlog4j2.configurationFile="$RUN_DIR/log4j2.properties" -Djava.awt.headless=true)
  if [ ! -f "$data/meta.properties" ]; then
    java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format \
      -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null || echo 'q1Sh-9_ISia_zwGINzRvyQ')" \
      -c "$props" >"$RUN_DIR/format-$PORT.log" 2>&1 \
      || { cat "$RUN_DIR/format-$PORT.log" >&2; log "storage format failed"; exit 1; }
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (log $LOG_FILE)"
  nohup java "${jvm[@]}" -cp "$cp" kafka.Kafka "$props" >"$LOG_FILE" 2>&1 &
  echo $! > "$PID_FILE"
  for _ in $(seq 1 240); do
    if is_up; then log "Kafka is up on 127.0.0.1:$PORT"; echo "127.0.0.1:$PORT"; return 0; fi
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then tail -50 "$LOG_FILE" >&2; log "Kafka exited"; exit 1; fi
    sleep 0.5
  done
  tail -50 "$LOG_FILE" >&2; log "Kafka did not answer in 120 s"; exit 1
}

stop() {
  [ -f "$PID_FILE" ] || { log "not running on $PORT"; return 0; }
  local pid; pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$PID_FILE"; log "stopped Kafka on $PORT"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null && is_up; then echo "up 127.0.0.1:$PORT"; else echo down; exit 1; fi ;;
  *) echo "usage: $0 fetch|start [PORT]|stop [PORT]|status [PORT]" >&2; exit 2 ;;
esac
