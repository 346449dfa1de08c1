#!/usr/bin/env bash
# The quickstart: build Sabot and its bundled plugins, then run
# pipelines/quickstart.yaml on the embedded in-memory broker until the
# generated orders are all through. The output lands in out/quickstart.jsonl.
#
#   tests/quickstart.sh                     200,000 generated orders
#   QUICKSTART_RECORDS=10000 tests/quickstart.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

fail() {
  echo "quickstart: $1" >&2
  exit 1
}

command -v cargo >/dev/null || fail "cargo is not installed; install Rust with rustup (https://rustup.rs is the usual way)"
for tool in cc make pkg-config; do
  command -v "$tool" >/dev/null || fail "\`$tool\` is missing; on Debian: apt-get install build-essential pkg-config libssl-dev zlib1g-dev"
done

echo "quickstart: building the plugins (plugins/build.sh)"
plugins/build.sh || fail "plugins/build.sh failed (see above)"

echo "quickstart: building sabot (cargo build --release)"
cargo build --release -p sabot --bin sabot || fail "cargo build failed (see above)"

mkdir -p out
rm -f "${QUICKSTART_OUT:-out/quickstart.jsonl}"
echo "quickstart: running pipelines/quickstart.yaml"
target/release/sabot run pipelines/quickstart.yaml --until-idle --progress 2
echo "quickstart: output in ${QUICKSTART_OUT:-out/quickstart.jsonl} ($(wc -l < "${QUICKSTART_OUT:-out/quickstart.jsonl}") lines)"
