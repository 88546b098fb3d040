#!/usr/bin/env bash
# The project's test command: every Rust test (unit and integration) in
# release mode, then the official Python SDK (stdio and Streamable HTTP) and
# the official TypeScript SDK (Streamable HTTP) as real MCP clients, both
# again over HTTPS (ci/tls.sh, with a TLS line session too), both with
# their client-credentials OAuth providers against oidc-provider as the
# authorization server (ci/auth.sh), then two replicas behind nginx sharing Redis (ci/scale-out.sh), then the short
# churn run (ci/soak.py: about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release
bash ci/python-sdk.sh
bash ci/ts-sdk.sh
bash ci/tls.sh
bash ci/auth.sh
bash ci/scale-out.sh
python3 ci/soak.py
echo "ci/test.sh: all tests passed"
