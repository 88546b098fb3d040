#!/usr/bin/env python3
"""User-space instructions per echo call: the figure of
analysis/async-fixes-performance.md that does not depend on a noisy
machine. Standard library only; needs valgrind.

Each server runs under `valgrind --tool=callgrind`, which counts the
instructions it executes in user space (all threads), whatever else the
machine does. It is driven by mcp-load twice: once for CALLS echo calls and
once for none (same sessions, same handshakes); the difference divided by
CALLS is what one call costs, without start-up, handshakes or shutdown.

    cargo build --release --bins --examples
    python3 analysis/instructions.py            # about 5 minutes
    INSTR_CALLS=8000 python3 analysis/instructions.py tcp stdio

Transports: stdio (one session, 64 calls in flight: --pipeline 64), TCP
(8 sessions, one call in flight each), Streamable HTTP with 2025-11-25
sessions and with 2026-07-28 stateless calls (8 clients). Servers: this
one ("ours"), the antipattern "before" (benches/antipattern_server.rs; TCP
only) and rmcp (benches/rmcp_echo_server.rs: its stdio, its TCP through the
generic transport, its Streamable HTTP server). Writes
analysis/results/instructions.json.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REL = ROOT / "target" / "release"
LOAD = REL / "mcp-load"
CALLS = int(os.environ.get("INSTR_CALLS", "4000"))
RESULTS = ROOT / "analysis" / "results" / "instructions.json"
SESSIONS = 8
PIPELINE = 64

BINARIES = {
    "ours": [str(REL / "mcp-server-core")],
    "before": [str(REL / "examples" / "antipattern_server")],
    "rmcp": [str(REL / "examples" / "rmcp_echo_server")],
}

# (figure, transport flag, protocol, servers)
FIGURES = [
    ("stdio", "stdio", "2025-11-25", ("ours", "rmcp")),
    ("tcp", "tcp", "2025-11-25", ("ours", "before", "rmcp")),
    ("http-2025", "http", "2025-11-25", ("ours", "rmcp")),
    ("http-2026", "http", "2026-07-28", ("ours",)),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def valgrind(out):
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
            "--collect-jumps=no", "--trace-children=no"]


def instructions(out):
    """Total Ir of a callgrind output file."""
    text = Path(out).read_text()
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if not match:
        raise RuntimeError(f"no totals in {out}")
    return int(match.group(1))


def wait_for_port(port, deadline_s=60.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def load(args):
    subprocess.run([str(LOAD), *args], check=True, timeout=900,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_once(kind, transport, protocol, calls):
    """Instructions the server executed for `calls` calls (0: handshakes only)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        if transport == "stdio":
            command = " ".join([*valgrind(out), *BINARIES[kind], "--stdio"])
            load(["--stdio", command, "-c", "1", "--pipeline", str(PIPELINE), "-n", str(calls),
                  "--protocol", protocol, "--connect-timeout", "120"])
            # mcp-load closed the server's stdin and waited for it to exit.
        else:
            port = free_port()
            addr = f"127.0.0.1:{port}"
            server = subprocess.Popen([*valgrind(out), *BINARIES[kind], f"--{transport}", addr],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      env=dict(os.environ, RUST_LOG="warn"))
            try:
                wait_for_port(port)
                target = ["--tcp", addr] if transport == "tcp" else ["--http", f"http://{addr}/mcp"]
                load([*target, "-c", str(SESSIONS), "-n", str(calls // SESSIONS), "--protocol", protocol,
                      "--connect-timeout", "120"])
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=300)
        return instructions(out)


def per_call(kind, transport, protocol):
    base = run_once(kind, transport, protocol, 0)
    loaded = run_once(kind, transport, protocol, CALLS)
    return {"calls": CALLS, "base_ir": base, "loaded_ir": loaded, "ir_per_call": (loaded - base) / CALLS}


def main():
    wanted = set(sys.argv[1:])
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() and wanted else {}
    for figure, transport, protocol, kinds in FIGURES:
        if wanted and figure not in wanted:
            continue
        results[figure] = {}
        for kind in kinds:
            results[figure][kind] = per_call(kind, transport, protocol)
            print(f"{figure:10} {kind:7} {results[figure][kind]['ir_per_call']:>10,.0f} instructions per call",
                  flush=True)
    results["environment"] = {"valgrind": subprocess.run(["valgrind", "--version"], capture_output=True,
                                                         text=True).stdout.strip(),
                              "calls": CALLS, "sessions": SESSIONS, "pipeline": PIPELINE}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
