#!/usr/bin/env bash
# Build the example plugins as WebAssembly components into plugins/dist/.
#
#   plugins/build.sh          build filter.wasm, mask.wasm and identity.wasm
#   plugins/build.sh --test   run the plugins' unit tests natively first
#
# Needs a Rust toolchain with the `wasm32-wasip2` target, which it adds
# with rustup when it is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

run_tests=false
for arg in "$@"; do
    case "$arg" in
        --test) run_tests=true ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument \`$arg\`; try --test or --help" >&2; exit 2 ;;
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
for plugin in filter mask identity; do
    cp "target/$target/release/$plugin.wasm" "dist/$plugin.wasm"
    echo "plugins/dist/$plugin.wasm ($(wc -c < "dist/$plugin.wasm") bytes)"
done
