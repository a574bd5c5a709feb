#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) from Maven Central jars, run on the machine's Java 17.
#   deploy/local/kafka.sh fetch            resolve the jars into the cache (idempotent)
#   deploy/local/kafka.sh start [PORT]     format storage if needed, start, wait until it answers (PLAINTEXT)
#   deploy/local/kafka.sh start-secure [PORT [DIR]]
#                                          the same broker secured: SASL_SSL only, SCRAM-SHA-512 user `streamloop`
#                                          with a generated password, a CA and broker certificate generated in DIR;
#                                          prints the CA file and the client settings file (see "Secure mode" below)
#   deploy/local/kafka.sh stop [PORT [DIR]]     stop the broker started by `start` or `start-secure`
#   deploy/local/kafka.sh status [PORT [DIR]]
#   deploy/local/kafka.sh tool NAME ARGS…  one of Kafka's own command-line tools, run from the kafka-tools jar of the
#                                          same version: kafka-topics, kafka-console-consumer, kafka-console-producer,
#                                          kafka-consumer-groups, kafka-get-offsets, kafka-transactions (also as
#                                          deploy/local/bin/NAME); e.g. `tool kafka-topics --bootstrap-server
#                                          127.0.0.1:9092 --list`
# Environment: KAFKA_VERSION (4.4.0), KAFKA_PORT (9092), STREAMLOOP_CACHE (~/.cache/streamloop),
#              KAFKA_RUN_DIR (DIR: pid, logs, config, secrets; $STREAMLOOP_CACHE/run),
#              KAFKA_DATA_DIR (fresh storage per start unless set), KAFKA_HEAP (512m).
#
# Secure mode. In DIR/tls-PORT/: a CA (ca.pem, its key ca.key) generated on the spot with openssl, a broker key and
# certificate signed by it for 127.0.0.1 and localhost (subject alternative names), the broker's PKCS12 keystore and a
# PKCS12 truststore holding the CA (keytool). Clients: SASL_SSL on PORT, SCRAM-SHA-512, user `streamloop`; the
# user's password is generated once and written, with the rest of the client settings, to DIR/client-PORT.env
# (KAFKA_* variables of the streamloop settings, `set -a; . FILE; set +a`) and DIR/client-PORT.properties (Kafka's
# Java clients and console tools), both mode 600. The SCRAM users are created when the storage is formatted
# (`kafka-storage format --add-scram`), so they exist before the broker takes its first connection.
# Inter-broker traffic uses the same SASL_SSL listener with a user of its own (`broker`): no plaintext listener is
# open at all. The controller listener (PORT+1) is TLS with client certificates required (mutual TLS with the
# broker's own certificate), so it is closed to clients without the broker's key too. Secrets are generated once
# per DIR and PORT and reused by later starts, so a kept KAFKA_DATA_DIR keeps matching them. For a local broker only:
# the SCRAM passwords are on kafka-storage's command line for the second it formats (--add-scram takes no file).
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
SCALA_VERSION="2.13"
CACHE="${STREAMLOOP_CACHE:-$HOME/.cache/streamloop}"
HOME_DIR="$CACHE/kafka-$KAFKA_VERSION"
LIBS="$HOME_DIR/libs"
TOOLS_LIBS="$HOME_DIR/tools-libs"
# `tool NAME ARGS…` hands its arguments to the tool; the other commands take [PORT [DIR]].
if [ "${1:-}" = tool ]; then POS_PORT=""; POS_DIR=""; else POS_PORT="${2:-}"; POS_DIR="${3:-}"; fi
RUN_DIR="${POS_DIR:-${KAFKA_RUN_DIR:-$CACHE/run}}"
PORT="${POS_PORT:-${KAFKA_PORT:-9092}}"
CONTROLLER_PORT="$((PORT + 1))"
PID_FILE="$RUN_DIR/kafka-$PORT.pid"
LOG_FILE="$RUN_DIR/kafka-$PORT.log"

log() { echo "[kafka.sh] $*" >&2; }

fetch() {
  fetch_broker
  fetch_tools
}

fetch_broker() {
  resolve_closure "kafka_$SCALA_VERSION" kafka-runtime "$HOME_DIR" "$LIBS" "Apache Kafka $KAFKA_VERSION"
}

# Kafka's command-line tools (org.apache.kafka:kafka-tools) and their runtime closure, in a directory of their own so
# the broker's classpath stays as it is.
fetch_tools() {
  resolve_closure kafka-tools kafka-tools-runtime "$HOME_DIR/tools" "$TOOLS_LIBS" "Kafka's command-line tools $KAFKA_VERSION"
}

# resolve_closure ARTIFACT POM_NAME POM_DIR OUT_DIR WHAT: copies org.apache.kafka:ARTIFACT:$KAFKA_VERSION and its
# runtime closure (with a log4j binding) from Maven Central into OUT_DIR, once (OUT_DIR/.complete marks it done).
resolve_closure() {
  local artifact="$1" pom_name="$2" pom_dir="$3" out="$4" what="$5"
  if [ -f "$out/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn not found: install Maven"; exit 1; }
  mkdir -p "$pom_dir"
  # A throwaway pom whose only job is to let Maven resolve the artifact and its runtime closure.
  cat > "$pom_dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.streamloop.local</groupId>
  <artifactId>$pom_name</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>$artifact</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  log "resolving $what from Maven Central into $out"
  rm -rf "$out"
  mvn -q -B -f "$pom_dir/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$out" >"$pom_dir/mvn.log" 2>&1 \
    || { cat "$pom_dir/mvn.log" >&2; log "maven resolution of $what failed"; exit 1; }
  touch "$out/.complete"
}

# The class behind each of Kafka's scripts (bin/kafka-*.sh of the Kafka distribution) in kafka-tools 4.x.
tool_class() {
  case "$1" in
    kafka-topics) echo org.apache.kafka.tools.TopicCommand ;;
    kafka-console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    kafka-console-producer) echo org.apache.kafka.tools.ConsoleProducer ;;
    kafka-consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    kafka-get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
    kafka-transactions) echo org.apache.kafka.tools.TransactionsCommand ;;
    *) return 1 ;;
  esac
}

# Runs one of Kafka's tools in the foreground (stdin, stdout and exit code are the tool's); its own logging at WARN on
# stderr, as the Kafka distribution's tools-log4j2 configuration does.
tool() {
  local name="${1:-}"
  local class
  class="$(tool_class "$name")" || {
    log "unknown tool \"$name\": expected kafka-topics, kafka-console-consumer, kafka-console-producer, kafka-consumer-groups, kafka-get-offsets or kafka-transactions"
    exit 2
  }
  shift
  fetch_tools
  local config="$HOME_DIR/tools/log4j2.properties"
  if [ ! -f "$config" ]; then
    cat > "$config" <<'L4J'
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
L4J
  fi
  exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$config" -cp "$TOOLS_LIBS/*" "$class" "$@"
}

is_up() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# Secure mode's secrets, generated once per DIR and PORT (see the header). Passwords reach openssl and keytool through
# the environment, not their command lines.
TLS_DIR="$RUN_DIR/tls-$PORT"
CLIENT_ENV="$RUN_DIR/client-$PORT.env"
CLIENT_PROPS="$RUN_DIR/client-$PORT.properties"
SECRETS="$TLS_DIR/secrets.env"
SCRAM_USER="streamloop"
BROKER_USER="broker"

secrets() {
  command -v openssl >/dev/null || { log "openssl not found: install openssl"; exit 1; }
  command -v keytool >/dev/null || { log "keytool not found: it comes with the JDK (Java 17)"; exit 1; }
  if [ -f "$TLS_DIR/.complete" ]; then return 0; fi
  rm -rf "$TLS_DIR"
  (umask 077; mkdir -p "$TLS_DIR")
  (umask 077; cat > "$SECRETS" <<SECRETS
STORE_PASSWORD=$(openssl rand -hex 24)
SCRAM_PASSWORD=$(openssl rand -hex 24)
BROKER_PASSWORD=$(openssl rand -hex 24)
SECRETS
)
  # shellcheck disable=SC1090
  . "$SECRETS"
  export STORE_PASSWORD
  local gen="$TLS_DIR/openssl.log"
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
      -subj "/CN=Streamloop local Kafka CA (port $PORT)" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
      -keyout "$TLS_DIR/broker.key" -out "$TLS_DIR/broker.csr"
    printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
      'extendedKeyUsage=serverAuth,clientAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost' > "$TLS_DIR/broker.ext"
    openssl x509 -req -in "$TLS_DIR/broker.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
      -days 825 -extfile "$TLS_DIR/broker.ext" -out "$TLS_DIR/broker.pem"
    openssl pkcs12 -export -name broker -in "$TLS_DIR/broker.pem" -inkey "$TLS_DIR/broker.key" \
      -certfile "$TLS_DIR/ca.pem" -passout env:STORE_PASSWORD -out "$TLS_DIR/broker.p12"
    keytool -importcert -noprompt -alias streamloop-local-ca -file "$TLS_DIR/ca.pem" \
      -storetype PKCS12 -keystore "$TLS_DIR/truststore.p12" -storepass:env STORE_PASSWORD
  } >"$gen" 2>&1 || { cat "$gen" >&2; log "generating the CA and broker certificate failed"; exit 1; }
  (umask 077
  cat > "$CLIENT_ENV" <<ENV
# Streamloop settings for the secure local broker on 127.0.0.1:$PORT (deploy/local/kafka.sh start-secure).
# Load with: set -a; . $CLIENT_ENV; set +a
KAFKA_BROKERS=127.0.0.1:$PORT
KAFKA_SSL=true
KAFKA_SSL_CA_FILE=$TLS_DIR/ca.pem
KAFKA_SASL_MECHANISM=scram-sha-512
KAFKA_SASL_USERNAME=$SCRAM_USER
KAFKA_SASL_PASSWORD=$SCRAM_PASSWORD
ENV
  cat > "$CLIENT_PROPS" <<PROPS
# Kafka's Java clients and console tools (--command-config / --consumer.config) on 127.0.0.1:$PORT.
bootstrap.servers=127.0.0.1:$PORT
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SCRAM_USER" password="$SCRAM_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
PROPS
  )
  touch "$TLS_DIR/.complete"
}

# start plain|secure
start() {
  local mode="$1"
  fetch
  mkdir -p "$RUN_DIR"
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    log "already running on $PORT (pid $(cat "$PID_FILE"))"; return 0
  fi
  local data="${KAFKA_DATA_DIR:-$RUN_DIR/data-$PORT}"
  if [ -z "${KAFKA_DATA_DIR:-}" ]; then rm -rf "$data"; fi
  mkdir -p "$data"
  local props="$RUN_DIR/server-$PORT.properties"
  local scram=()
  if [ "$mode" = secure ]; then
    secrets
    # shellcheck disable=SC1090
    . "$SECRETS"
    (umask 077; cat > "$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=SASL_SSL://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$BROKER_USER" password="$BROKER_PASSWORD";
listener.name.controller.ssl.client.auth=required
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$STORE_PASSWORD
ssl.key.password=$STORE_PASSWORD
ssl.truststore.type=PKCS12
ssl.truststore.location=$TLS_DIR/truststore.p12
ssl.truststore.password=$STORE_PASSWORD
PROPS
    )
    scram=(--add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]"
           --add-scram "SCRAM-SHA-512=[name=$BROKER_USER,password=$BROKER_PASSWORD]")
  else
    cat > "$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
PROPS
  fi
  cat >> "$props" <<PROPS
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
    # The secure format prints the SCRAM users' salted keys: its log is kept from others, and removed once it worked.
    (if [ "$mode" = secure ]; then umask 077; fi
     java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format \
       -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null || echo 'q1Sh-9_ISia_zwGINzRvyQ')" \
       -c "$props" "${scram[@]}" >"$RUN_DIR/format-$PORT.log" 2>&1) \
      || { cat "$RUN_DIR/format-$PORT.log" >&2; log "storage format failed"; exit 1; }
    if [ "$mode" = secure ]; then rm -f "$RUN_DIR/format-$PORT.log"; fi
  fi
  local what="PLAINTEXT"; [ "$mode" = secure ] && what="SASL_SSL, SCRAM-SHA-512"
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT ($what; log $LOG_FILE)"
  nohup java "${jvm[@]}" -cp "$cp" kafka.Kafka "$props" >"$LOG_FILE" 2>&1 &
  echo $! > "$PID_FILE"
  for _ in $(seq 1 240); do
    if is_up; then
      log "Kafka is up on 127.0.0.1:$PORT"
      if [ "$mode" = secure ]; then
        log "CA certificate: $TLS_DIR/ca.pem"
        log "client settings (user $SCRAM_USER, its password): $CLIENT_ENV (streamloop), $CLIENT_PROPS (Kafka's Java tools)"
      fi
      echo "127.0.0.1:$PORT"; return 0
    fi
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
  start) start plain ;;
  start-secure) start secure ;;
  stop) stop ;;
  tool) shift; tool "$@" ;;
  status) if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null && is_up; then echo "up 127.0.0.1:$PORT"; else echo down; exit 1; fi ;;
  *) echo "usage: $0 fetch|start [PORT]|start-secure [PORT [DIR]]|stop [PORT [DIR]]|status [PORT [DIR]]|tool NAME ARGS…" >&2; exit 2 ;;
esac
