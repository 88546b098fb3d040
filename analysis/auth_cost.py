#!/usr/bin/env python3
"""What authorization costs: the same server with and without
--auth-issuer/--auth-resource, driven by mcp-load over Streamable HTTP, in
one run. Standard library and openssl only; needs valgrind.

An authorization server is made here: an RSA key from openssl, RFC 8414
metadata and a JWKS served by a thread on a loopback port, and one RS256
access token for the server's resource (signed with `openssl dgst`),
which mcp-load sends with every request (--bearer-file).

Two figures, for 2025-11-25 sessions and 2026-07-28 stateless calls:

- instructions per echo call (callgrind, as analysis/instructions.py:
  CALLS calls less none, divided by CALLS), auth off and on;
- calls per second at 64 sessions for DURATION seconds each, auth off,
  on, off, on (alternated, so that a drift of the machine shows), and the
  ratio on / off of their means.

    cargo build --release --bins
    python3 analysis/auth_cost.py          # about 4 minutes
Writes analysis/results/auth_cost.json.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instructions as m  # noqa: E402

ROOT = m.ROOT
SERVER = m.REL / "mcp-server-core"
CALLS = int(os.environ.get("AUTH_CALLS", "4000"))
DURATION = float(os.environ.get("AUTH_DURATION", "8"))
SESSIONS = 64
RESULTS = ROOT / "analysis" / "results" / "auth_cost.json"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """RFC 8414 metadata and a JWKS of one RSA key, on a loopback port."""

    def __init__(self, tmp):
        self.key = Path(tmp) / "key.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", str(self.key)], check=True, capture_output=True)
        modulus = subprocess.run(["openssl", "rsa", "-in", str(self.key), "-noout", "-modulus"],
                                 check=True, capture_output=True, text=True).stdout.strip().split("=", 1)[1]
        jwk = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
               "n": b64(bytes.fromhex(modulus)), "e": "AQAB"}
        issuer = self
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), None)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                documents = {
                    "/.well-known/oauth-authorization-server": {"issuer": issuer.url,
                                                                "jwks_uri": f"{issuer.url}/jwks"},
                    "/jwks": {"keys": [jwk]},
                }
                body = json.dumps(documents.get(self.path, {})).encode()
                self.send_response(200 if self.path in documents else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd.RequestHandlerClass = Handler
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, resource):
        header = b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}).encode())
        claims = b64(json.dumps({"iss": self.url, "sub": "load", "client_id": "mcp-load", "aud": resource,
                                 "iat": int(time.time()), "exp": int(time.time()) + 3600,
                                 "scope": "mcp"}).encode())
        message = f"{header}.{claims}".encode()
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=message,
                                   check=True, capture_output=True).stdout
        return f"{header}.{claims}.{b64(signature)}"


def serve(port, auth, wrap=()):
    addr = f"127.0.0.1:{port}"
    return subprocess.Popen([*wrap, str(SERVER), "--http", addr, *auth], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"))


def stop(server):
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=300)


def instructions_per_call(auth, bearer, protocol, port):
    def once(calls):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "callgrind.out"
            server = serve(port, auth, m.valgrind(out))
            try:
                m.wait_for_port(port)
                m.load(["--http", f"http://127.0.0.1:{port}/mcp", *bearer, "-c", str(m.SESSIONS),
                        "-n", str(calls // m.SESSIONS), "--protocol", protocol, "--connect-timeout", "120"])
            finally:
                stop(server)
            return m.instructions(out)
    return (once(CALLS) - once(0)) / CALLS


def throughput(auth, bearer, protocol, port):
    server = serve(port, auth)
    try:
        m.wait_for_port(port)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "load.json"
            subprocess.run([str(m.LOAD), "--http", f"http://127.0.0.1:{port}/mcp", *bearer, "-c", str(SESSIONS),
                            "--duration", str(DURATION), "--protocol", protocol, "--json", str(out)],
                           check=True, timeout=600, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            report = json.loads(out.read_text())
    finally:
        stop(server)
    if report["requests_failed"] or report["sessions_failed"]:
        raise RuntimeError(f"failures under load: {report['first_error']}")
    return report["requests_per_s"]


def main():
    results = {"calls": CALLS, "duration_s": DURATION, "sessions": SESSIONS}
    with tempfile.TemporaryDirectory() as tmp:
        issuer = Issuer(tmp)
        port = m.free_port()
        resource = f"http://127.0.0.1:{port}/mcp"
        token_file = Path(tmp) / "token"
        token_file.write_text(issuer.token(resource))
        modes = {
            "off": ([], []),
            "on": (["--auth-issuer", issuer.url, "--auth-resource", resource, "--auth-required-scope", "mcp"],
                   ["--bearer-file", str(token_file)]),
        }
        for protocol in ("2025-11-25", "2026-07-28"):
            row = {}
            for mode, (auth, bearer) in modes.items():
                row[f"ir_per_call_{mode}"] = instructions_per_call(auth, bearer, protocol, port)
            rates = {"off": [], "on": []}
            for mode in ("off", "on", "off", "on"):
                auth, bearer = modes[mode]
                rates[mode].append(throughput(auth, bearer, protocol, port))
            row["calls_per_s"] = rates
            mean = {k: sum(v) / len(v) for k, v in rates.items()}
            row["throughput_on_over_off"] = mean["on"] / mean["off"]
            row["ir_on_over_off"] = row["ir_per_call_on"] / row["ir_per_call_off"]
            results[protocol] = row
            print(f"{protocol}: instructions per call off {row['ir_per_call_off']:,.0f}, "
                  f"on {row['ir_per_call_on']:,.0f} ({row['ir_on_over_off']:.2f}x); calls/s at {SESSIONS} "
                  f"sessions off {mean['off']:,.0f}, on {mean['on']:,.0f} "
                  f"({row['throughput_on_over_off']:.0%} of off)", flush=True)
        issuer.httpd.shutdown()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
