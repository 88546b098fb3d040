"""Memory of an idle 2025 HTTP session without its connection.

Starts the release binary over HTTP, opens 2,000 sessions whose client
closes its connection after each POST (initialize, then
notifications/initialized), and prints the server's resident memory per
session: what a session costs once its client holds no connection open.

Usage: python3 analysis/http_idle_sessions.py   (after cargo build --release)
"""
import socket, subprocess, time, os, sys, json
binary = os.path.join(os.path.dirname(__file__), "..", "target", "release", "mcp-server-core")
port = 18999
srv = subprocess.Popen([binary, "--http", f"127.0.0.1:{port}", "--max-sessions", "5000"], env=dict(os.environ, RUST_LOG="warn"))
time.sleep(0.5)
def rss():
    for l in open(f"/proc/{srv.pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1])
def post(body, sid=None):
    s = socket.create_connection(("127.0.0.1", port))
    b = json.dumps(body).encode()
    h = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {len(b)}\r\nConnection: close\r\n"
    if sid: h += f"Mcp-Session-Id: {sid}\r\nMCP-Protocol-Version: 2025-11-25\r\n"
    s.sendall((h + "\r\n").encode() + b)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    s.close()
    head = data.split(b"\r\n\r\n")[0].decode()
    for line in head.split("\r\n"):
        if line.lower().startswith("mcp-session-id:"): return line.split(":",1)[1].strip()
init = {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"m","version":"0"}}}
# warm up allocator with a few sessions first
for _ in range(50):
    sid = post(init); post({"jsonrpc":"2.0","method":"notifications/initialized"}, sid)
time.sleep(0.5)
r0 = rss(); n = 2000
for _ in range(n):
    sid = post(init); post({"jsonrpc":"2.0","method":"notifications/initialized"}, sid)
time.sleep(1)
r1 = rss()
print(f"idle HTTP sessions without a connection: {(r1-r0)/n:.2f} KiB each ({n} sessions, rss {r0} -> {r1} KiB)")
srv.terminate(); srv.wait()
