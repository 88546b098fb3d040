#!/usr/bin/env bash
# The model-checking job: the loom models (every interleaving up to
# LOOM_MAX_PREEMPTIONS preemptions), the shuttle models (SHUTTLE_ITERATIONS
# random and as many PCT schedules per scenario of the core;
# SHUTTLE_ENGINE_ITERATIONS, default 1,000, per scenario of the session
# engine, which runs the whole line server), clippy in both modes, then
# the two commands exactly as the design card types them, then
# ci/mutants.sh, which shows that each known bug is caught.
#
# Each mode has its own target directory, so the ordinary build is kept.
# The release runs build only the library and the model targets (every
# other test target is empty under a checker, and linking some thirty empty
# binaries in release cost minutes); the as-typed runs build them all.
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
export SHUTTLE_ITERATIONS="${SHUTTLE_ITERATIONS:-10000}"
export RUST_BACKTRACE=0

echo "== loom (LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS)"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo clippy --all-targets --release -- -D warnings
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo test --release --lib --test loom_core -- --test-threads=1

echo "== shuttle (SHUTTLE_ITERATIONS=$SHUTTLE_ITERATIONS per scheduler and scenario)"
RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle \
    cargo clippy --all-targets --release -- -D warnings
RUSTFLAGS="--cfg shuttle" CARGO_TARGET_DIR=target/shuttle \
    cargo test --release --lib --test shuttle_core --test shuttle_engine

echo "== as typed: RUSTFLAGS=\"--cfg loom\" cargo test; RUSTFLAGS=\"--cfg shuttle\" cargo test"
# No other variable: the checkers' own defaults, the default target dir.
(
    unset CARGO_TARGET_DIR RUSTDOCFLAGS LOOM_MAX_PREEMPTIONS SHUTTLE_ITERATIONS RUST_BACKTRACE MCP_MUTANT
    RUSTFLAGS="--cfg loom" cargo test
    RUSTFLAGS="--cfg shuttle" cargo test
)

echo "== known bugs"
bash ci/mutants.sh
