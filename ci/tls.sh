#!/usr/bin/env bash
# HTTPS and TLS: a CA and a certificate for 127.0.0.1 made here with
# openssl, the binary serving --http as HTTPS and --tcp as TLS with them,
# then the official Python SDK (both modes) and TypeScript SDK as clients
# trusting only that CA, and a line client through `openssl s_client`.
# Needs the virtual environment of ci/python-sdk.sh and the SDK that
# ci/ts-sdk.sh installs (ci/test.sh runs those first).
set -euo pipefail
cd "$(dirname "$0")/.."

source ci/python-venv.sh
cargo build --release --quiet --bin mcp-server-core

dir=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=mcp-server-core test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$dir/ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/ext" -out "$dir/server.pem" 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
tcp_port=$(free_port)
RUST_LOG=warn target/release/mcp-server-core --http "127.0.0.1:$http_port" --tcp "127.0.0.1:$tcp_port" \
    --tls-cert "$dir/server.pem" --tls-key "$dir/server.key" &
server=$!
for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && break
    sleep 0.05
done

url="https://127.0.0.1:$http_port/mcp"
SSL_CERT_FILE="$dir/ca.pem" timeout 120 "$VENV/bin/python" ci/interop/python_sdk_client.py --url "$url"
NODE_EXTRA_CA_CERTS="$dir/ca.pem" timeout 120 node ci/interop/ts_sdk_client.mjs "$url"

# A line session through TLS: initialize and an echo, answered in order.
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"s_client","version":"0"}}}'
echo_call='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"over tls"}}}'
answers=$( (printf '%s\n%s\n' "$init" "$echo_call"; sleep 1) |
    timeout 20 openssl s_client -quiet -verify_return_error -CAfile "$dir/ca.pem" -connect "127.0.0.1:$tcp_port" 2>/dev/null || true)
grep -q '"protocolVersion":"2025-11-25"' <<<"$answers" || { echo "tls: no initialize answer over TLS: $answers" >&2; exit 1; }
grep -q '"text":"over tls"' <<<"$answers" || { echo "tls: no echo over TLS: $answers" >&2; exit 1; }
echo "tls: line session over TLS ok"

# A plain-text client gets no MCP answer from the TLS listener.
plain=$(curl -s -m 5 "http://127.0.0.1:$http_port/mcp" -d '{}' -H 'content-type: application/json' || true)
[ -z "$plain" ] || { echo "tls: a plain HTTP request was answered: $plain" >&2; exit 1; }

kill -TERM "$server"
wait "$server"
server=
echo "tls: HTTPS (Python and TypeScript SDKs) and TLS (line session) passed"
