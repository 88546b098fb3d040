#!/usr/bin/env python3
"""Measures what the Redis store (sessions, streams) costs (analysis/scale-out.md,
"2025 sessions, their streams and tasks in Redis"). Standard library only.

Needs redis-server and nginx (as analysis/scale_out.py) and the release
builds:

    cargo build --release --bins
    python3 analysis/session_store.py        # about 4 minutes

mcp-load's closed-loop `echo` calls over 2025-11-25 sessions (C = 64, 5 s):
one replica straight (no store, then --state-store), and nginx with no
affinity rule (round robin per request) in front of one, two and three
replicas sharing the store. Then calls answered over SSE (`sleep` 10 ms
with a progressToken: ten progress events and the result, each one event
the store keeps): one replica straight, without and with the store
(setups sse, sse-store). For each run: calls/s, latency, the replicas'
CPU per call, and the Redis commands the run caused (INFO commandstats,
before and after), per call and per session; and the memory of one
session's record in Redis (MEMORY USAGE of each key). SCALE_RUNS times
(default 3), medians. Writes analysis/results/session_store.json.
"""

import json
import os
import socket
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from scale_out import NGINX, REDIS, REL, RUNS, Processes, cpu_s, free_port, load

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "analysis" / "results" / "session_store.json"
# Setup "base": a build of an earlier commit (MCP_BASE_BINARY), no store.
BASE = os.environ.get("MCP_BASE_BINARY", "")

import sys  # noqa: E402

sys.path.insert(0, str(ROOT / "ci" / "nginx"))
from replicas import round_robin  # noqa: E402


def redis(port, *args):
    """One command to Redis on `port`; its reply (RESP2, parsed)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"".join([f"*{len(args)}\r\n".encode()] +
                           [f"${len(str(a))}\r\n{a}\r\n".encode() for a in args]))
        reader = s.makefile("rb")
        return read_reply(reader)


def read_reply(reader):
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)[:-2]
        return data.decode()
    if kind == b"*":
        return [read_reply(reader) for _ in range(int(rest))]
    raise ValueError(line)


def commandstats(port):
    """Calls per Redis command so far."""
    stats = {}
    for line in redis(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, fields = line[len("cmdstat_"):].split(":", 1)
            stats[name] = int(dict(f.split("=") for f in fields.split(","))["calls"])
    return stats


def one_setup(setup):
    """`setup`: 'direct' (no store), 'direct-store', 'base' (MCP_BASE_BINARY,
    no store), 'rr-N' (nginx, no affinity, N replicas sharing the store),
    or 'sse' / 'sse-store' (as 'direct' / 'direct-store', each call
    answered over SSE)."""
    with Processes() as ps:
        redis_port = free_port()
        ps.start([REDIS, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                 redis_port)
        url_redis = f"redis://127.0.0.1:{redis_port}/"
        store = [] if setup in ("direct", "base", "sse") else ["--state-store", url_redis]
        count = int(setup.split("-")[1]) if setup.startswith("rr-") else 1
        directory = tempfile.mkdtemp(prefix="mcp-store-")
        ports, replica_pids, lb_pids = [], set(), set()
        for _ in range(count):
            port = free_port()
            binary = BASE if setup == "base" else REL / "mcp-server-core"
            replica_pids.add(ps.start([str(binary), "--http", f"127.0.0.1:{port}",
                                       "--max-sessions", "1024", *store], port).pid)
            ports.append(port)
        if setup.startswith("rr-"):
            lb = free_port()
            conf = Path(directory) / "nginx.conf"
            conf.write_text(round_robin(directory, lb, ports))
            lb_pids.add(ps.start([NGINX, "-p", directory, "-c", str(conf), "-e",
                                  str(Path(directory) / "error.log")], lb).pid)
            url = f"http://127.0.0.1:{lb}/mcp"
        else:
            url = f"http://127.0.0.1:{ports[0]}/mcp"
        time.sleep(0.3)
        before_cpu, before_cmds = cpu_s(replica_pids), commandstats(redis_port)
        sse = ["--tool", "sleep", "--arguments", '{"ms":10}', "--progress"] if setup.startswith("sse") else []
        report = load(url, "2025-11-25", sse)
        after = commandstats(redis_port)
        calls = max(report["requests_ok"], 1)
        sessions = max(report.get("sessions_admitted", 64), 1)
        commands = {name: after[name] - before_cmds.get(name, 0) for name in after
                    if name not in ("info",) and after[name] - before_cmds.get(name, 0) > 0}
        return {
            "requests_per_s": report["requests_per_s"],
            "p50_us": report["latency"]["p50_us"],
            "p99_us": report["latency"]["p99_us"],
            "failed": report["requests_failed"] + report["sessions_failed"],
            "replicas_cpu_us_per_call": 1e6 * (cpu_s(replica_pids) - before_cpu) / calls,
            "redis_commands": commands,
            "redis_commands_per_call": sum(commands.values()) / calls,
            "redis_commands_per_session": sum(commands.values()) / sessions,
            "calls_per_session": calls / sessions,
        }


def post(port, body, sid=None):
    """One POST to the replica on `port`; (its session id, its status)."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if sid:
        headers.update({"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
    request = urllib.request.Request(f"http://127.0.0.1:{port}/mcp", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.headers.get("Mcp-Session-Id"), response.status


def record_memory(sessions=500):
    """Redis memory per session record: `sessions` sessions opened (the
    handshake of the Python SDK's size: capabilities and clientInfo) and
    left open; Redis's used_memory before and after, and MEMORY USAGE of
    each key."""
    with Processes() as ps:
        redis_port = free_port()
        ps.start([REDIS, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                 redis_port)
        port = free_port()
        ps.start([str(REL / "mcp-server-core"), "--http", f"127.0.0.1:{port}", "--max-sessions", str(sessions * 2),
                  "--state-store", f"redis://127.0.0.1:{redis_port}/"], port)
        used = lambda: int(dict(l.split(":", 1) for l in redis(redis_port, "INFO", "memory").splitlines()
                               if ":" in l)["used_memory"])
        before = used()
        for _ in range(sessions):
            sid, _ = post(port, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {"elicitation": {}, "sampling": {}, "roots": {"listChanged": True}},
                "clientInfo": {"name": "mcp", "version": "0.1.0"}}})
            post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
        keys = redis(redis_port, "KEYS", "mcp-server-core:session:*")
        sizes = [redis(redis_port, "MEMORY", "USAGE", k) for k in keys]
        value = redis(redis_port, "GET", keys[0])
        return {"sessions": len(keys), "used_memory_per_session": (used() - before) / len(keys),
                "memory_usage_median": statistics.median(sizes), "record_json_bytes": len(value),
                "record": json.loads(value)}


def stream_memory():
    """Redis memory of one request's SSE stream as the event store keeps it:
    a `sleep` of 10 ms with a progressToken (ten progress events and the
    result), MEMORY USAGE of its Redis Stream, and of the session's list
    of streams."""
    with Processes() as ps:
        redis_port = free_port()
        ps.start([REDIS, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                 redis_port)
        port = free_port()
        ps.start([str(REL / "mcp-server-core"), "--http", f"127.0.0.1:{port}",
                  "--state-store", f"redis://127.0.0.1:{redis_port}/"], port)
        sid, _ = post(port, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "mcp", "version": "0"}}})
        post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
        post(port, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "sleep", "arguments": {"ms": 10}, "_meta": {"progressToken": "p"}}}, sid)
        time.sleep(0.5)
        streams = redis(redis_port, "KEYS", "*:stream:*")
        stream = streams[0]
        events = redis(redis_port, "XLEN", stream)
        size = redis(redis_port, "MEMORY", "USAGE", stream)
        index = redis(redis_port, "MEMORY", "USAGE", redis(redis_port, "KEYS", "*:streams")[0])
        return {"events": events, "stream_memory_usage": size, "per_event": size / events,
                "streams_list_memory_usage": index}


def paired(before, after):
    """Medians, over runs made one after the other, of `after`'s calls per
    second and CPU per call against `before`'s."""
    pairs = list(zip(before, after))
    return {
        "rps_ratio": statistics.median(b["requests_per_s"] / a["requests_per_s"] for a, b in pairs),
        "cpu_per_call_ratio": statistics.median(
            b["replicas_cpu_us_per_call"] / a["replicas_cpu_us_per_call"] for a, b in pairs),
    }


def main():
    setups = os.environ.get("SETUPS", "direct direct-store rr-1 rr-2 rr-3 sse sse-store").split()
    runs = {setup: [] for setup in setups}
    # Interleaved, so that the machine's drift touches every setup alike.
    for _ in range(RUNS):
        for setup in setups:
            runs[setup].append(one_setup(setup))
    out = {}
    for setup in setups:
        rs = runs[setup]
        out[setup] = {
            "runs": rs,
            "median_rps": statistics.median(r["requests_per_s"] for r in rs),
            "p50_us": statistics.median(r["p50_us"] for r in rs),
            "p99_us": statistics.median(r["p99_us"] for r in rs),
            "replicas_cpu_us_per_call": statistics.median(r["replicas_cpu_us_per_call"] for r in rs),
            "redis_commands_per_call": statistics.median(r["redis_commands_per_call"] for r in rs),
            "redis_commands_per_session": statistics.median(r["redis_commands_per_session"] for r in rs),
            "failed": sum(r["failed"] for r in rs),
        }
        print(setup, {k: v for k, v in out[setup].items() if k != "runs"}, flush=True)
    for key, before, after, what in (("store_vs_none", "direct", "direct-store", "store vs none"),
                                     ("sse_store_vs_none", "sse", "sse-store", "SSE calls: store vs none"),
                                     ("now_vs_base", "base", "direct", "no store, this build vs the base")):
        if before in runs and after in runs:
            out[key] = paired(runs[before], runs[after])
            print(f"{what} (medians of paired runs)", out[key], flush=True)
    out["record_memory"] = record_memory()
    print("record memory", {k: v for k, v in out["record_memory"].items() if k != "record"}, flush=True)
    out["stream_memory"] = stream_memory()
    print("stream memory", out["stream_memory"], flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
