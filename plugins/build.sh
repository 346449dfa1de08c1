#!/usr/bin/env bash
# Build the example plugins as WebAssembly components into plugins/dist/.
#
#   plugins/build.sh                   build filter.wasm, mask.wasm, identity.wasm,
#                                      hostile.wasm and python-redact.wasm
#   plugins/build.sh --test            run the plugins' unit tests natively first
#   plugins/build.sh --require-python  fail, rather than skip the Python plugin,
#                                      when componentize-py is missing
#
# Needs a Rust toolchain with the `wasm32-wasip2` target, which it adds
# with rustup when it is missing. The Python plugin needs `componentize-py`
# (PyPI, 0.25.1): on PATH, or in the test venv that tests/setup.sh makes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

run_tests=false
require_python=false
for arg in "$@"; do
    case "$arg" in
        --test) run_tests=true ;;
        --require-python) require_python=true ;;
        -h|--help) sed -n '2,13p' "$here/build.sh"; exit 0 ;;
        *) echo "build.sh: unknown argument \`$arg\`; try --test, --require-python or --help" >&2; exit 2 ;;
    esac
done

target=wasm32-wasip2
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "build.sh: adding the Rust target \`$target\`" >&2
    if ! rustup target add "$target"; then
        echo "build.sh: cannot add the Rust target \`$target\`; install it with \`rustup target add $target\` (it needs Rust 1.82 or later and access to the Rust toolchain server)" >&2
        exit 1
    fi
fi

if $run_tests; then
    cargo test --workspace --quiet
fi

cargo build --release --target "$target" --workspace

mkdir -p dist
for plugin in filter mask identity hostile; do
    cp "target/$target/release/$plugin.wasm" "dist/$plugin.wasm"
    echo "plugins/dist/$plugin.wasm ($(wc -c < "dist/$plugin.wasm") bytes)"
done

# The Python plugins, on the record world.
componentize=""
if command -v componentize-py >/dev/null 2>&1; then
    componentize="$(command -v componentize-py)"
elif [ -x "${SABOT_CACHE:-$HOME/.cache/sabot}/venv/bin/componentize-py" ]; then
    componentize="${SABOT_CACHE:-$HOME/.cache/sabot}/venv/bin/componentize-py"
fi
if [ -z "$componentize" ]; then
    if $require_python; then
        echo "build.sh: \`componentize-py\` not found; install it with \`pip install componentize-py==0.25.1\` or run tests/setup.sh" >&2
        exit 1
    fi
    echo "build.sh: skipping python-redact.wasm: \`componentize-py\` not found (pip install componentize-py==0.25.1)" >&2
    exit 0
fi
for plugin in python-redact; do
    (
        cd "$plugin"
        PYTHONDONTWRITEBYTECODE=1 "$componentize" -d ../../wit -w record-plugin \
            componentize app -o "../dist/$plugin.wasm" >/dev/null
    )
    echo "plugins/dist/$plugin.wasm ($(wc -c < "dist/$plugin.wasm") bytes)"
done
