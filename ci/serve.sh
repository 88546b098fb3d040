# Sourced by the CI scripts that need a running server (not run on its own).
#
# start_server ARGS...   starts target/release/mcp-server-core --http on a
#                        free loopback port with ARGS, sets $server (its pid)
#                        and $port, and returns once it accepts connections.
#                        Its stderr goes to $SERVER_LOG if set (appended:
#                        `2>/dev/stderr` would reopen and truncate the file
#                        CI's own output goes to, wiping its head).
start_server() {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    RUST_LOG=warn target/release/mcp-server-core --http "127.0.0.1:$port" "$@" 2>>"${SERVER_LOG:-/dev/stderr}" &
    server=$!
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "the server did not listen on port $port" >&2
    return 1
}
