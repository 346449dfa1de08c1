#!/usr/bin/env bash
# What an identity WASM transform costs a pipeline: the same generated
# orders (datagen → JSON decode → JSON-lines file, batches of 1,000) run
# with and without the `identity` plugin; the difference in the process's
# CPU seconds is the transform's share.
#
#   tests/bench/wasm_share.sh            200,000 records, 3 runs each
#   BENCH_RECORDS=500000 tests/bench/wasm_share.sh
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
N="${BENCH_RECORDS:-200000}"
RUNS="${BENCH_RUNS:-3}"
[[ -x /usr/bin/time ]] || { echo "wasm_share: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
[[ -f plugins/dist/identity.wasm ]] || plugins/build.sh
cargo build --release -q -p sabot --bin sabot
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

pipeline() { # NAME WITH_TRANSFORM
  {
    echo "apiVersion: sabot/v1"
    echo "name: $1"
    echo "source:"
    echo "  datagen: { records: $N, seed: 7 }"
    if [[ "$2" == yes ]]; then
      echo "transforms:"
      echo "  - plugin: $REPO/plugins/dist/identity.wasm"
    fi
    echo "sink:"
    echo "  file: { path: $WORK/$1.jsonl, sync: false }"
    echo "batch: { max_records: 1000, max_wait: 50ms }"
  } > "$WORK/$1.yaml"
}
pipeline plain no
pipeline identity yes

# Warm the component cache so compiling is not counted.
target/release/sabot validate --offline "$WORK/identity.yaml" > /dev/null

cpu() { # FILE -> user+sys seconds
  rm -f "$WORK"/*.jsonl
  /usr/bin/time -f "%U %S %M" -o "$WORK/time" target/release/sabot run "$1" --until-idle --progress 0 2> /dev/null
  awk '{ printf "%.3f %d\n", $1 + $2, $3 }' "$WORK/time"
}

best() { sort -n | head -1; }
plain=(); identity=()
for _ in $(seq "$RUNS"); do
  plain+=("$(cpu "$WORK/plain.yaml")")
  identity+=("$(cpu "$WORK/identity.yaml")")
done
p=$(printf '%s\n' "${plain[@]}" | best)
i=$(printf '%s\n' "${identity[@]}" | best)
read -r pc prss <<< "$p"
read -r ic irss <<< "$i"
share=$(awk -v p="$pc" -v i="$ic" 'BEGIN { printf "%.1f", (i - p) / i * 100 }')
echo "records: $N, batch 1000, best of $RUNS"
echo "without transform: ${pc} CPU-s, peak RSS $((prss / 1024)) MiB"
echo "with identity:     ${ic} CPU-s, peak RSS $((irss / 1024)) MiB"
echo "identity share of the pipeline's CPU: ${share} %"
