#!/usr/bin/env bash
# The project's test command: every Rust test (unit, integration, doc) in
# release mode, then the official Python SDK as a real MCP client.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release
bash ci/python-sdk.sh
echo "ci/test.sh: all tests passed"
