#!/usr/bin/env bash
# The end-to-end benchmark: Sabot against the tool a user would otherwise
# reach for, on the same input topic of a broker this script starts.
#
#   tests/bench/e2e.sh                        200,000 orders
#   BENCH_RECORDS=20000 tests/bench/e2e.sh
#
# It starts a single-node KRaft Kafka broker on free ports of 127.0.0.1 in
# a temporary folder, produces BENCH_RECORDS keyed JSON orders of about 250
# bytes into a 3-partition topic, and runs three jobs, each side on a fresh
# consumer group and into its own output, one after the other:
#
#   passthrough   sabot pipelines/passthrough.yaml   vs a Python
#                 confluent-kafka loop copying raw records
#   filter+mask   sabot pipelines/orders-to-topic.yaml vs a Python
#                 confluent-kafka + json + hmac loop doing the same
#   mask→file     sabot pipelines/orders-to-file.yaml vs Kafka Connect
#                 standalone: FileStreamSinkConnector + MaskField$Value
#   avro→parquet  sabot pipelines/avro-orders-to-parquet.yaml vs a Python
#                 confluent-kafka + fastavro + pyarrow loop, on Avro orders
#                 written by Confluent's serializer against the registry of
#                 `sabot serve --registry-listen`
#
# For each side it measures wall seconds, CPU seconds (user + system of
# that client process only) and peak RSS, checks the output, and prints a
# Markdown table. Everything it started is stopped at exit, by PID.
#
# Needs: tests/setup.sh run once (Kafka jars, Python venv), Java 17+,
# GNU time at /usr/bin/time (Debian package `time`).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

fail() {
  echo "e2e bench: $1" >&2
  exit 1
}

say() {
  echo "e2e bench: $*" >&2
}

# Settings written by tests/setup.sh, unless already in the environment.
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sabot"
if [[ -f "$CACHE/env.sh" ]]; then
  # shellcheck source=/dev/null
  source "$CACHE/env.sh"
fi
N="${BENCH_RECORDS:-200000}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || fail "\`BENCH_RECORDS\` must be a positive whole number, not \`$N\`"
PYTHON="${SABOT_PYTHON:-}"
JAVA_LIB="${SABOT_JAVA_LIB:-}"
SABOT="$REPO/target/release/sabot"
HELPER="$REPO/tests/bench/kafka_bench.py"
TIME=/usr/bin/time

[[ -x "$PYTHON" ]] || fail "\`SABOT_PYTHON\` is not set or not executable; run \`tests/setup.sh\`"
[[ -f "$JAVA_LIB/kafka_2.13-4.1.1.jar" ]] || fail "\`SABOT_JAVA_LIB\` has no \`kafka_2.13-4.1.1.jar\`; run \`tests/setup.sh\`"
command -v java >/dev/null || fail "\`java\` is missing; install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)"
[[ -x "$TIME" ]] || fail "\`$TIME\` is missing; install GNU time (Debian: apt-get install time)"
# Always built, so the figures are of this checkout (quick when up to date).
say "building sabot (cargo build --release -p sabot --bin sabot)"
cargo build --release -p sabot --bin sabot || fail "cargo build failed (see above)"
for plugin in filter mask; do
  [[ -f "plugins/dist/$plugin.wasm" ]] || plugins/build.sh || fail "plugins/build.sh failed (see above)"
done

# Everything lives in one temporary folder; every process started is
# recorded and stopped at exit.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sabot-bench-XXXXXX")"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ -n "${BENCH_KEEP:-}" ]]; then
    say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

py() {
  "$PYTHON" "$HELPER" "$@"
}

log4j() {
  # A log4j2 config sending INFO and above to the file $1 only.
  cat <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $1
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
EOF
}

# --- The broker ----------------------------------------------------------

PORT="$(py free-port)"
CONTROLLER_PORT="$(py free-port)"
BROKERS="127.0.0.1:$PORT"
mkdir -p "$WORK/kafka"
cat >"$WORK/kafka/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$WORK/kafka/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
log4j "$WORK/kafka/broker.log" >"$WORK/kafka/log4j2.properties"
KAFKA_LOG4J="-Dlog4j2.configurationFile=$WORK/kafka/log4j2.properties"

say "starting Kafka at $BROKERS"
java "$KAFKA_LOG4J" -cp "$JAVA_LIB/*" kafka.tools.StorageTool format \
  -t c2Fib3QtYmVuY2gtY2x1c3Q -c "$WORK/kafka/server.properties" \
  >"$WORK/kafka/format.log" 2>&1 || fail "formatting the broker's log folder failed: $(tail -20 "$WORK/kafka/format.log")"
java -Xms512m -Xmx1g -XX:+UseSerialGC -Djava.awt.headless=true "$KAFKA_LOG4J" \
  -cp "$JAVA_LIB/*" kafka.Kafka "$WORK/kafka/server.properties" \
  </dev/null >"$WORK/kafka/stdout.log" 2>&1 &
PIDS+=($!)
py wait "$BROKERS" || fail "Kafka did not start; its log: $(tail -30 "$WORK/kafka/broker.log" 2>/dev/null)"

py create-topics "$BROKERS" orders:3 raw-out-sabot:3 raw-out-python:3 \
  orders-clean-sabot:3 orders-clean-python:3 orders-dlq:1 orders-file-dlq:1
say "producing $N orders"
py produce "$BROKERS" orders "$N" "$WORK/passing" >&2
PASSING="$(cat "$WORK/passing")"
py warm-up "$BROKERS" orders

RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# timed JOB SIDE COMMAND...: runs COMMAND under GNU time and records its
# wall seconds, user and system CPU seconds and peak RSS in KB.
timed() {
  local job="$1" side="$2"
  shift 2
  say "$job: $side"
  if ! "$TIME" -f "%e %U %S %M" -o "$WORK/time" "$@" >"$WORK/$side-$job.log" 2>&1; then
    fail "$job ($side) failed: $(tail -20 "$WORK/$side-$job.log")"
  fi
  read -r wall user system rss <"$WORK/time"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$job" "$side" "$wall" "$user" "$system" "$rss" >>"$RESULTS"
}

expect() {
  # expect WHAT FOUND WANTED
  [[ "$2" == "$3" ]] || fail "$1 holds $2 records, expected $3"
  say "$1 holds $2 records, as expected"
}

# --- Job 1: passthrough --------------------------------------------------

timed passthrough sabot env KAFKA_BROKERS="$BROKERS" PASSTHROUGH_IN=orders \
  PASSTHROUGH_OUT=raw-out-sabot PASSTHROUGH_GROUP=bench-passthrough-sabot \
  "$SABOT" run pipelines/passthrough.yaml --until-idle --progress 0
timed passthrough python "$PYTHON" "$HELPER" copy "$BROKERS" orders raw-out-python \
  bench-passthrough-python "$N"
expect raw-out-sabot "$(py count "$BROKERS" raw-out-sabot)" "$N"
expect raw-out-python "$(py count "$BROKERS" raw-out-python)" "$N"

# --- Job 2: filter + mask into a topic -----------------------------------

MASK_KEY=bench-secret
timed filter+mask sabot env KAFKA_BROKERS="$BROKERS" ORDERS_TOPIC=orders \
  ORDERS_GROUP=bench-orders-sabot ORDERS_OUT_TOPIC=orders-clean-sabot \
  ORDERS_DLQ_TOPIC=orders-dlq MASK_KEY="$MASK_KEY" \
  "$SABOT" run pipelines/orders-to-topic.yaml --until-idle --progress 0
timed filter+mask python "$PYTHON" "$HELPER" filter-mask "$BROKERS" orders \
  orders-clean-python bench-orders-python "$N" "$MASK_KEY"
expect orders-clean-sabot "$(py count "$BROKERS" orders-clean-sabot)" "$PASSING"
expect orders-clean-python "$(py count "$BROKERS" orders-clean-python)" "$PASSING"
expect orders-dlq "$(py count "$BROKERS" orders-dlq)" 0
py check-masked "$BROKERS" orders-clean-sabot orders-clean-python "$MASK_KEY" >&2

# --- Job 3: mask into a JSON-lines file ----------------------------------

timed mask→file sabot env KAFKA_BROKERS="$BROKERS" ORDERS_TOPIC=orders \
  ORDERS_FILE_GROUP=bench-file-sabot ORDERS_FILE="$WORK/sabot.jsonl" \
  ORDERS_FILE_DLQ_TOPIC=orders-file-dlq \
  "$SABOT" run pipelines/orders-to-file.yaml --until-idle --progress 0
expect "$WORK/sabot.jsonl" "$(wc -l <"$WORK/sabot.jsonl")" "$PASSING"
grep -q '"email":"\*\*\*"' "$WORK/sabot.jsonl" || fail "Sabot's file holds no masked email"

# Kafka Connect standalone. Its MaskField does not reach into nested
# schemaless values, so it masks the top-level `status`; it has no filter
# on a field's value, so it writes all N records.
# An empty `plugin.path` element means the working folder, which Connect
# would scan (target/ included); an empty folder keeps start-up short.
mkdir -p "$WORK/connect/plugins"
CONNECT_PORT="$(py free-port)"
cat >"$WORK/connect/worker.properties" <<EOF
bootstrap.servers=$BROKERS
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
offset.storage.file.filename=$WORK/connect/offsets
offset.flush.interval.ms=1000
plugin.path=$WORK/connect/plugins
listeners=http://127.0.0.1:$CONNECT_PORT
EOF
cat >"$WORK/connect/sink.properties" <<EOF
name=bench-file-connect
connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector
tasks.max=1
topics=orders
file=$WORK/connect.txt
transforms=mask
transforms.mask.type=org.apache.kafka.connect.transforms.MaskField\$Value
transforms.mask.fields=status
transforms.mask.replacement=***
EOF
log4j "$WORK/connect/connect.log" >"$WORK/connect/log4j2.properties"

say "mask→file: kafka-connect"
: >"$WORK/connect.txt"
started="$(date +%s.%N)"
# The heap options are those `bin/connect-standalone.sh` sets by default.
java -Xms256M -Xmx2G "-Dlog4j2.configurationFile=$WORK/connect/log4j2.properties" -cp "$JAVA_LIB/*" \
  org.apache.kafka.connect.cli.ConnectStandalone \
  "$WORK/connect/worker.properties" "$WORK/connect/sink.properties" \
  </dev/null >"$WORK/connect/stdout.log" 2>&1 &
CONNECT_PID=$!
PIDS+=("$CONNECT_PID")
deadline=$(( $(date +%s) + 600 ))
first=""
while (( $(wc -l <"$WORK/connect.txt") < N )); do
  if [[ -z "$first" && -s "$WORK/connect.txt" ]]; then
    first="$(date +%s.%N)"
  fi
  kill -0 "$CONNECT_PID" 2>/dev/null || fail "Kafka Connect exited early; its log: $(tail -30 "$WORK/connect/connect.log")"
  (( $(date +%s) < deadline )) || fail "Kafka Connect wrote $(wc -l <"$WORK/connect.txt") of $N lines in 600 s"
  sleep 0.1
done
finished="$(date +%s.%N)"
# utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks;
# the process name (field 2) is `java`, so the fields split on spaces.
read -r utime stime < <(awk '{ print $14, $15 }' "/proc/$CONNECT_PID/stat")
rss="$(awk '/^VmHWM:/ { print $2 }' "/proc/$CONNECT_PID/status")"
kill "$CONNECT_PID"
wait "$CONNECT_PID" 2>/dev/null || true
ticks="$(getconf CLK_TCK)"
awk -v s="$started" -v f="$finished" -v u="$utime" -v t="$stime" -v hz="$ticks" -v rss="$rss" \
  'BEGIN { printf "mask→file\tkafka-connect\t%.2f\t%.2f\t%.2f\t%d\n", f - s, u / hz, t / hz, rss }' >>"$RESULTS"
expect "$WORK/connect.txt" "$(wc -l <"$WORK/connect.txt")" "$N"
CONNECT_NOTE="$(awk -v s="$started" -v f="$finished" -v first="${first:-$finished}" \
  'BEGIN { printf "Kafka Connect wrote its first line %.2f s after launch and the last %.2f s later", first - s, f - first }')"
grep -q 'status=\*\*\*' "$WORK/connect.txt" || fail "Kafka Connect's file holds no masked status"

# --- Job 4: Avro into Parquet --------------------------------------------

REGISTRY_PORT="$(py free-port)"
REGISTRY="http://127.0.0.1:$REGISTRY_PORT"
"$SABOT" serve --listen "127.0.0.1:$(py free-port)" --registry-listen "127.0.0.1:$REGISTRY_PORT" \
  </dev/null >"$WORK/registry.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  curl -sf "$REGISTRY/subjects" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "$REGISTRY/subjects" >/dev/null || fail "the registry did not start; its log: $(tail -20 "$WORK/registry.log")"
py create-topics "$BROKERS" orders-avro:3 orders-avro-dlq:1
say "producing $N Avro orders"
py produce-avro "$BROKERS" orders-avro "$N" "$REGISTRY" >&2
timed avro→parquet sabot env KAFKA_BROKERS="$BROKERS" SCHEMA_REGISTRY_URL="$REGISTRY" \
  AVRO_ORDERS_TOPIC=orders-avro AVRO_PARQUET_GROUP=bench-parquet-sabot \
  PARQUET_DIR="$WORK/parquet-sabot" PARQUET_ROLL_RECORDS=100000 AVRO_DLQ_TOPIC=orders-avro-dlq \
  "$SABOT" run pipelines/avro-orders-to-parquet.yaml --until-idle --progress 0
timed avro→parquet python "$PYTHON" "$HELPER" avro-parquet "$BROKERS" orders-avro \
  bench-parquet-python "$N" "$REGISTRY" "$WORK/parquet-python"
expect "$WORK/parquet-sabot" "$(py parquet-rows "$WORK/parquet-sabot")" "$N"
expect "$WORK/parquet-python" "$(py parquet-rows "$WORK/parquet-python")" "$N"

# --- The table -----------------------------------------------------------

echo
echo "$N orders ($PASSING with amount > 100), 3 partitions, Kafka 4.1.1 at $BROKERS"
echo "machine: $(nproc) cores, Linux $(uname -r), sabot $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
py report "$RESULTS" "$N"
echo
echo "$CONNECT_NOTE."
