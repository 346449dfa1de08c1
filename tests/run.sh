#!/usr/bin/env bash
# The test command: installs what the suite needs, builds the plugins and runs
# every test of the workspace against real brokers.
#
#   tests/run.sh                    everything
#   tests/run.sh -p sabot-tests     extra arguments go to `cargo test`
#
# Set SABOT_TEST_BROKERS=host:port to use a running Kafka instead of starting
# one; SABOT_CACHE to install somewhere else than ~/.cache/sabot.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
CACHE="${SABOT_CACHE:-$HOME/.cache/sabot}"
started=$SECONDS

# summary RESULT STEP: a line saying how the run ended, with the time taken.
summary() {
  echo "run: $1: $2 ($((SECONDS - started)) s)"
}

echo "run: setup"
if ! tests/setup.sh; then
  summary FAILED "tests/setup.sh (see its error above)"
  exit 1
fi
# shellcheck source=/dev/null
source "$CACHE/env.sh"

# Both test runs go to one log, whose "test result:" lines are added up at
# the end.
LOG="$CACHE/logs/tests.log"
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

if [[ -x plugins/build.sh ]]; then
  echo "run: plugins/build.sh --test --require-python"
  if ! plugins/build.sh --test --require-python 2>&1 | tee -a "$LOG"; then
    summary FAILED "plugins/build.sh --test --require-python; full output in $LOG"
    exit 1
  fi
else
  echo "run: plugins/build.sh missing or not executable" >&2
  summary FAILED "plugins/build.sh"
  exit 1
fi

echo "run: cargo test --workspace --no-fail-fast $*"
status=0
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee -a "$LOG" || status=$?

# Add up libtest's "test result:" lines over every test binary, the
# plugins' included.
read -r passed failed ignored < <(awk '
  /^test result:/ { for (i = 1; i < NF; i++) {
      if ($(i + 1) ~ /^passed/) p += $i
      if ($(i + 1) ~ /^failed/) f += $i
      if ($(i + 1) ~ /^ignored/) g += $i } }
  END { print p + 0, f + 0, g + 0 }' "$LOG")
counts="$passed passed, $failed failed"
if ((ignored > 0)); then counts="$counts, $ignored skipped"; fi
if ((status != 0)); then
  # The counts cover only what ran before the failure, so the verdict comes
  # last.
  echo "tests: $counts"
  summary FAILED "cargo test --workspace exited with $status; full output in $LOG"
else
  summary passed "setup, plugins and cargo test --workspace"
  echo "tests: $counts"
fi
exit "$status"
