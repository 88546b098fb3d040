#!/usr/bin/env bash
# The mutation run of analysis/model-checking.md ("Mutation testing"): not
# part of CI (about 2.5 hours here, one job at a time on 2 cores).
#
# 1. cargo-mutants over src/core and src/server against the tokio suite
#    (every integration test but the trybuild and README checks, which test
#    no behaviour), debug builds, 40 s per test run;
# 2. over the model-checked core (src/core, the sync shim and its models)
#    against the loom models, LOOM_MAX_PREEMPTIONS=2;
# 3. what loom left, against the shuttle models (--iterate skips what an
#    earlier run in the same output directory caught);
# 4. the union: a mutant is killed when any suite kills it.
#
# Output in target/mutants-{tokio,loom,shuttle}; needs cargo-mutants
# (`cargo install cargo-mutants --locked`, 27.1.0 here).
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/mutants
mkdir -p "$out"
tests=()
for t in async_correctness bin_process http_sessions http_stateless listen_streams protocol_errors \
         protocol_handshake server_admission server_backpressure server_notify server_shutdown tools_call; do
    tests+=("--cargo-test-arg=--test=$t")
done

cargo mutants -f 'src/core/**' -f 'src/server/**' --jobs 1 --timeout 40 --build-timeout 400 \
    --cargo-test-arg=--lib --cargo-test-arg=--bins "${tests[@]}" -o "$out/tokio" || true

models=(-f 'src/core/**' -f 'src/sync/model/**' -f 'src/sync/mod.rs' --jobs 1 --timeout 120 --build-timeout 400)
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
    cargo mutants "${models[@]}" --cargo-test-arg=--lib --cargo-test-arg=--test=loom_core -o "$out/loom" || true

rm -rf "$out/shuttle" && cp -r "$out/loom" "$out/shuttle"
RUSTFLAGS="--cfg shuttle" SHUTTLE_ITERATIONS=2000 \
    cargo mutants "${models[@]}" --iterate --cargo-test-arg=--lib --cargo-test-arg=--test=shuttle_core \
    -o "$out/shuttle" || true

python3 analysis/mutants_union.py "$out/tokio" "$out/loom" "$out/shuttle"
