#!/usr/bin/env bash
# Runs the official MCP TypeScript SDK (npm package @modelcontextprotocol/sdk)
# as a client of the release binary over Streamable HTTP, with the built-in
# tools and with the conformance fixtures (resources, prompts, completion).
# Installs the SDK into ci/interop/node_modules the first time (needs Node 18
# or later).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=ci/ts-sdk-install.sh
. ci/ts-sdk-install.sh

cargo build --release --quiet --bin mcp-server-core
# Once with the built-in tools, once with the conformance fixtures.
# shellcheck source=ci/serve.sh
. ci/serve.sh
for fixtures in "" --conformance; do
    # shellcheck disable=SC2086 # $fixtures is empty or one flag
    start_server $fixtures
    trap 'kill "$server" 2>/dev/null || true' EXIT
    # shellcheck disable=SC2086
    timeout 120 node "$DIR/ts_sdk_client.mjs" "http://127.0.0.1:$port/mcp" $fixtures
    kill -TERM "$server"
    wait "$server"
    trap - EXIT
done
