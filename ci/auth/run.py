"""Authorization with a real authorization server and the official clients.

Usage: run.py PATH_TO_SERVER_BINARY   (ci/auth.sh installs what it needs)

Starts oidc-provider (ci/auth/authorization_server.mjs) and the binary with
--auth-issuer pointing at it, every request needing mcp:tools and the
broadcast tool needing mcp:admin, its fetched keys kept for 2 s. Then runs
the Python SDK (auto and legacy) and the TypeScript SDK clients, each with
its client-credentials provider. When a client says "rotate", the
authorization server rotates its signing key; once the server's keys have
expired the client is told to go on, and its next call needs a token signed
with the new key. Afterwards the authorization server's log must show, for
every client, a first token with mcp:tools only, a step-up token with
mcp:admin, and a token signed with the new key; all of them for this
resource. Exits non-zero on any failure.
"""

import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop"))
from python_sdk_client import free_port, wait_for_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP = os.path.join(HERE, "..", "interop")
CLIENT_ID = "mcp-ci-client"
SECRET = "ci-secret-" + os.urandom(8).hex()
JWKS_TTL_S = 2


class AuthorizationServer:
    def __init__(self, resource: str) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            ["node", os.path.join(HERE, "authorization_server.mjs"), str(self.port), resource, CLIENT_ID, SECRET],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self.said = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()
        self.expect("listening ")

    def read(self) -> None:
        for line in self.proc.stdout:
            with self.said:
                self.log.append(line.rstrip("\n"))
                self.said.notify_all()
        with self.said:
            self.log.append("exited")
            self.said.notify_all()

    def expect(self, prefix: str, deadline_s: float = 30.0) -> str:
        """The first line from now on that starts with `prefix`."""
        seen = len(self.log)
        end = time.monotonic() + deadline_s
        with self.said:
            while time.monotonic() < end:
                for line in self.log[seen:]:
                    if line.startswith(prefix):
                        return line
                    if line == "exited":
                        raise RuntimeError(f"the authorization server exited ({self.proc.poll()})")
                seen = len(self.log)
                self.said.wait(timeout=end - time.monotonic())
        raise TimeoutError(f"the authorization server never said {prefix!r}")

    def rotate(self) -> str:
        self.proc.send_signal(signal.SIGUSR2)
        return self.expect("rotated ").split("kid=")[1]

    def issued_since(self, mark: int) -> "list[dict[str, str]]":
        """The tokens issued after log line `mark` (the server logs each
        before it answers, so every token a client received is there)."""
        with self.said:
            lines = self.log[mark:]
        return [dict(field.split("=", 1) for field in line.split()[1:]) for line in lines if line.startswith("issued ")]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def serve(binary: str, issuer: str, port: int) -> subprocess.Popen:
    args = [
        binary, "--http", f"127.0.0.1:{port}",
        "--auth-issuer", issuer,
        "--auth-resource", f"http://127.0.0.1:{port}/mcp",
        "--auth-scopes-supported", "mcp:tools,mcp:admin",
        "--auth-required-scope", "mcp:tools",
        "--auth-tool-scope", "broadcast=mcp:admin",
        "--auth-jwks-ttl-secs", str(JWKS_TTL_S),
    ]  # fmt: skip
    server = subprocess.Popen(args, env={**os.environ, "RUST_LOG": "warn"})
    wait_for_port(port)
    return server


def drive(name: str, command: "list[str]", issuer: "AuthorizationServer", resource: str) -> None:
    mark = len(issuer.log)
    client = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    said = client.stdout.readline().strip()
    if said != "rotate":
        client.kill()
        raise AssertionError(f"{name}: expected 'rotate', got {said!r} (exit {client.wait()})")
    new_kid = issuer.rotate()
    time.sleep(JWKS_TTL_S + 0.5)
    client.stdin.write("go\n")
    client.stdin.flush()
    rest, _ = client.communicate(timeout=120)
    print(rest, end="")
    assert client.returncode == 0, f"{name}: exited with {client.returncode}"

    tokens = issuer.issued_since(mark)
    assert tokens, f"{name}: no token was issued"
    assert all(t["aud"] == resource for t in tokens), f"{name}: a token for another audience: {tokens}"
    first = tokens[0]
    assert first["scope"].split(",") == ["mcp:tools"], f"{name}: first token {first}"
    assert first["kid"] != new_kid, f"{name}: the first token was signed with the new key"
    stepped = [t for t in tokens if "mcp:admin" in t["scope"].split(",")]
    assert stepped and stepped[0]["kid"] == first["kid"], f"{name}: no step-up token before the rotation: {tokens}"
    assert tokens[-1]["kid"] == new_kid, f"{name}: no token signed with the new key {new_kid}: {tokens}"
    print(f"{name}: tokens issued {[(t['kid'], t['scope']) for t in tokens]}")


def main() -> None:
    binary = sys.argv[1]
    # The authorization server is told the resource at start, so the MCP
    # server's port is chosen first.
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    issuer = AuthorizationServer(resource)
    server = None
    try:
        server = serve(binary, issuer.issuer, port)
        python = [sys.executable, os.path.join(HERE, "python_client.py"), resource, issuer.issuer, CLIENT_ID, SECRET]
        for mode in ("legacy", "auto"):
            drive(f"python {mode}", python + [mode], issuer, resource)
        ts = ["node", os.path.join(INTEROP, "ts_sdk_auth_client.mjs"), resource, issuer.issuer, CLIENT_ID, SECRET]
        drive("typescript", ts, issuer, resource)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0, "the server did not exit 0 after SIGTERM"
        server = None
    finally:
        if server is not None:
            server.kill()
        issuer.stop()
    print("ci/auth: the official clients passed against oidc-provider")


if __name__ == "__main__":
    main()
