#!/usr/bin/env bash
# The quickstart: build Sabot and its bundled plugins, then run
# pipelines/quickstart.yaml and pipelines/quickstart-avro.yaml on the
# embedded in-memory broker and schema registry until the generated orders
# are all through. The output lands in out/quickstart.jsonl and
# out/quickstart-parquet/.
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

command -v cargo >/dev/null || fail "cargo is not installed; install Rust with rustup first"

# The Debian packages the build needs (librdkafka is compiled from source).
missing=()
for pkg in gcc g++ make pkg-config libssl-dev zlib1g-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  command -v apt-get >/dev/null ||
    fail "missing packages ${missing[*]}; install them with the system's package manager"
  sudo=""
  if ((EUID != 0)); then sudo="sudo"; fi
  echo "quickstart: installing ${missing[*]} (apt-get)"
  { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"; } ||
    fail "\`apt-get install ${missing[*]}\` failed; run it as root and read its error"
fi

echo "quickstart: building the plugins (plugins/build.sh)"
plugins/build.sh || fail "plugins/build.sh failed (see above)"

echo "quickstart: building sabot (cargo build --release)"
cargo build --release -p sabot --bin sabot || fail "cargo build failed (see above)"

mkdir -p out
rm -f "${QUICKSTART_OUT:-out/quickstart.jsonl}"
rm -rf "${QUICKSTART_PARQUET:-out/quickstart-parquet}"
echo "quickstart: running pipelines/quickstart.yaml and pipelines/quickstart-avro.yaml"
target/release/sabot run pipelines/quickstart.yaml pipelines/quickstart-avro.yaml \
  --until-idle --progress 2 --log warn
echo "quickstart: output in ${QUICKSTART_OUT:-out/quickstart.jsonl} ($(wc -l < "${QUICKSTART_OUT:-out/quickstart.jsonl}") lines)"
echo "quickstart: and in ${QUICKSTART_PARQUET:-out/quickstart-parquet}/ ($(find "${QUICKSTART_PARQUET:-out/quickstart-parquet}" -name '*.parquet' | wc -l) Parquet files)"
