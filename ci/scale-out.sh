#!/usr/bin/env bash
# Scale-out: replicas behind a real nginx (round-robin) sharing a real
# Redis. Installs Debian's redis-server and nginx when they are missing,
# then runs the Rust scale-out tests (tests/scale_out.rs, ignored by a plain
# `cargo test` because they need both) and the official Python SDK through
# nginx against replicas of the release binary: two with affinity rules
# (python_sdk_scale_out.py), and three with none at all, sharing a Redis
# session store, one of them killed and Redis restarted mid-session, the
# TypeScript SDK's session through them too (python_sdk_round_robin.py). Each test starts its
# own redis-server and nginx on free loopback ports and stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
    echo "scale-out: installing ${need[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    install() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"; }
    install >/dev/null || { $sudo apt-get update -q >/dev/null && install >/dev/null; }
fi
MCP_REDIS_SERVER="$(command -v redis-server || echo /usr/bin/redis-server)"
MCP_NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
export MCP_REDIS_SERVER MCP_NGINX

# Every server this script starts (through the tests or the Python run)
# must be gone when it ends: nginx's workers included.
running_servers() {
    for name in nginx redis-server mcp-server-core; do pgrep -x "$name" || true; done | sort
}
before="$(running_servers)"

cargo test --release --test scale_out -- --include-ignored
source ci/python-venv.sh
# shellcheck source=ci/ts-sdk-install.sh
. ci/ts-sdk-install.sh
cargo build --release --quiet --bin mcp-server-core
(cd ci/interop && timeout 180 "../../$VENV/bin/python" python_sdk_scale_out.py ../../target/release/mcp-server-core)
(cd ci/interop && timeout 180 "../../$VENV/bin/python" python_sdk_round_robin.py ../../target/release/mcp-server-core)
left="$(comm -13 <(echo "$before") <(running_servers))"
if [ -n "$left" ]; then
    echo "scale-out: processes it started are still running:"
    ps -o pid,ppid,pgid,args -p "$(echo $left | tr ' ' ,)"
    exit 1
fi
echo "ci/scale-out.sh: passed (no server it started is left running)"
