#!/usr/bin/env bash
# The simulation job: the whole server over turmoil's simulated network
# (tests/simulation.rs), MCP_SIM_SEEDS seeds per scenario (default 8 here;
# `cargo test` alone runs 4). A failing run prints its seed and the command
# that replays it (MCP_SIM_SEED=<seed>). The longer campaign of
# analysis/simulation.md is this script with MCP_SIM_SEEDS=100.
set -euo pipefail
cd "$(dirname "$0")/.."

export MCP_SIM_SEEDS="${MCP_SIM_SEEDS:-8}"
echo "== simulation: $MCP_SIM_SEEDS seeds per scenario"
start=$(date +%s)
cargo test --release --test simulation -- --nocapture 2>&1 | tee target/simulation.log | grep -E '^test |seed .* (ok|broke|panicked)' | tail -n 40
status=${PIPESTATUS[0]}
runs=$(grep -c 'ok, trace' target/simulation.log || true)
echo "ci/simulation.sh: $runs runs passed in $(( $(date +%s) - start )) s (exit $status)"
exit "$status"
