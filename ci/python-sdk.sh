#!/usr/bin/env bash
# Runs the official MCP Python SDK (PyPI package `mcp`) against the release
# binary over stdio and Streamable HTTP, in both protocol generations, with
# the built-in tools and (HTTP) with the conformance fixtures: tools,
# resources, a prompt, completion; then against examples/axum.rs (MCP
# mounted in an axum router). Creates its own virtual environment in
# ci/.venv the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

source ci/python-venv.sh

cargo build --release --quiet --bin mcp-server-core --example axum
timeout 180 "$VENV/bin/python" ci/interop/python_sdk_client.py target/release/mcp-server-core target/release/examples/axum
