#!/usr/bin/env bash
# Authorization against a real authorization server: installs the npm
# package oidc-provider into ci/auth/node_modules the first time, then runs
# ci/auth/run.py, which starts it on a free loopback port and runs the
# official Python SDK and TypeScript SDK clients (each with its
# client-credentials OAuth provider) against the release binary with
# --auth-issuer: discovery from the 401, a token for the resource, a scope
# step-up and a key rotation. Needs the SDKs that ci/python-venv.sh and
# ci/ts-sdk.sh install (ci/test.sh runs those first).
set -euo pipefail
cd "$(dirname "$0")/.."

PROVIDER_VERSION="${OIDC_PROVIDER_VERSION:-9.13.3}"
DIR=ci/auth
installed=$(node -e "console.log(require('./$DIR/node_modules/oidc-provider/package.json').version)" 2>/dev/null || true)
if [ "$installed" != "$PROVIDER_VERSION" ]; then
    echo "auth: installing oidc-provider@$PROVIDER_VERSION into $DIR/node_modules"
    npm install --silent --no-save --no-package-lock --prefix "$DIR" "oidc-provider@$PROVIDER_VERSION" >/dev/null
fi

source ci/python-venv.sh
cargo build --release --quiet --bin mcp-server-core
timeout 300 "$VENV/bin/python" ci/auth/run.py target/release/mcp-server-core
