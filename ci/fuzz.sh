#!/usr/bin/env bash
# Bounded coverage-guided fuzzing: builds every target in fuzz/ with
# cargo-fuzz (libFuzzer, AddressSanitizer) and runs each for FUZZ_SECONDS
# (default 20) from its seeds in fuzz/seeds/<target>/, with a 10 s timeout
# per input. Fails on any crash, failed assertion, timeout or out-of-memory;
# libFuzzer leaves the input in fuzz/artifacts/<target>/. Prints executions
# and coverage per target (analysis/robustness.md quotes them).
#
# cargo-fuzz comes from crates.io. It needs a nightly toolchain; without
# one, RUSTC_BOOTSTRAP=1 lets stable build the same flags.
#
# cargo-fuzz and the sanitized build are kept in a cache of the machine's
# ($MCP_CI_CACHE, default ~/.cache/mcp-server-core), outside the clone: a
# fresh clone then rebuilds only this crate and its fuzz targets, not every
# dependency under AddressSanitizer again. On a new machine the cache is
# empty and everything is installed and built as before.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
CACHE="${MCP_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-server-core}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    if [ ! -x "$CACHE/cargo-fuzz/bin/cargo-fuzz" ]; then
        echo "fuzz: installing cargo-fuzz into $CACHE/cargo-fuzz"
        cargo install --quiet --locked cargo-fuzz --root "$CACHE/cargo-fuzz"
    fi
    export PATH="$CACHE/cargo-fuzz/bin:$PATH"
fi
target_dir="$CACHE/fuzz-target"
if cargo +nightly --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    echo "fuzz: no nightly toolchain; building with RUSTC_BOOTSTRAP=1 on stable"
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

"${fuzz[@]}" build -O --target-dir "$target_dir"
summary=()
for target in $("${fuzz[@]}" list); do
    mkdir -p "fuzz/corpus/$target"
    log="fuzz/corpus/$target.log"
    echo "== fuzz: $target for ${SECONDS_PER_TARGET} s"
    if ! "${fuzz[@]}" run -O --target-dir "$target_dir" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $target FAILED (the input is in fuzz/artifacts/$target/)"
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
    features=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
    summary+=("$(printf '%-14s %10s executions  coverage %5s edges, %6s features' "$target" "$runs" "$cov" "$features")")
done
printf '%s\n' "${summary[@]}"
echo "ci/fuzz.sh: every target ran ${SECONDS_PER_TARGET} s without a failure"
