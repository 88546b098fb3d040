#!/usr/bin/env bash
# Runs the official MCP Python SDK (PyPI package `mcp`) against the release
# binary over stdio and Streamable HTTP, in both protocol generations, with
# the built-in tools and (HTTP) with the conformance fixtures: tools,
# resources, a prompt, completion. Creates its own virtual environment in
# ci/.venv the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

MCP_VERSION="${MCP_PYTHON_SDK_VERSION:-2.3.0}"
VENV=ci/.venv
if ! "$VENV/bin/python" -c "import mcp, sys; sys.exit(0)" 2>/dev/null \
    || [ "$("$VENV/bin/pip" show mcp 2>/dev/null | awk '/^Version:/{print $2}')" != "$MCP_VERSION" ]; then
    echo "python-sdk: installing mcp==$MCP_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "mcp==$MCP_VERSION"
fi

cargo build --release --quiet --bin mcp-server-core
timeout 120 "$VENV/bin/python" ci/interop/python_sdk_client.py target/release/mcp-server-core
