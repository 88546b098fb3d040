#!/usr/bin/env python3
"""Measures the figures of analysis/scale-out.md. Standard library only.

Needs redis-server and nginx (MCP_REDIS_SERVER, MCP_NGINX, or on PATH;
ci/scale-out.sh installs both) and the release builds:

    cargo build --release --bins --examples
    python3 analysis/scale_out.py           # about 3 minutes

- fan-out: benches/scale_out_fanout.rs (two replicas in one process, a real
  Redis, listen streams read over HTTP), SCALE_RUNS times (default 3); the
  median of each percentile over the runs.
- throughput: mcp-load's closed-loop echo calls (C = 64, 5 s) through nginx
  in front of one replica and in front of two (each with --event-bus and
  --replica-id), and straight to one replica without nginx; 2026-07-28
  (stateless, round-robin per request) and 2025-11-25 (sessions, routed by
  their id), SCALE_RUNS times each, medians.

Everything shares this machine's two cores (Redis, nginx, the replicas and
the load generator), so the figures are for comparing within one run.
Writes analysis/results/scale_out.json.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REL = ROOT / "target" / "release"
RUNS = int(os.environ.get("SCALE_RUNS", "3"))
RESULTS = ROOT / "analysis" / "results" / "scale_out.json"
REDIS = os.environ.get("MCP_REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
NGINX = os.environ.get("MCP_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"

sys.path.insert(0, str(ROOT / "ci" / "nginx"))
from replicas import config as nginx_config  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, deadline_s=20.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class Processes:
    """Child processes, killed in reverse order on exit."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, port):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=dict(os.environ, RUST_LOG="warn"))
        self.procs.append(proc)
        wait_for_port(port)
        return proc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pids):
    """CPU seconds (user + system) of `pids` and of their live children
    (nginx's workers)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return sum(cpu for pid, (ppid, cpu) in stats.items() if pid in pids or ppid in pids)


def start_redis(ps):
    port = free_port()
    ps.start([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], port)
    return f"redis://127.0.0.1:{port}/"


def median_of(runs, *path):
    values = []
    for run in runs:
        for key in path:
            run = run[key]
        values.append(run)
    return statistics.median(values)


def fig_fanout():
    runs = []
    for _ in range(RUNS):
        with Processes() as ps:
            url = start_redis(ps)
            out = subprocess.run([str(REL / "examples" / "scale_out_fanout"), url, "2000"], check=True,
                                 capture_output=True, text=True, timeout=300).stdout
            runs.append(json.loads(out))
    summary = {}
    for pattern in ("sequential", "burst"):
        for where in ("local", "remote"):
            summary[f"{pattern}_{where}"] = {
                q: median_of(runs, pattern, where, q) for q in ("p50_us", "p99_us", "max_us")
            }
    return {"runs": runs, "median": summary}


def load(url, protocol, extra=()):
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    subprocess.run([str(REL / "mcp-load"), "--http", url, "--protocol", protocol, "-c", "64", "--duration", "5",
                    "--json", str(out), *extra], check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report = json.loads(out.read_text())
    out.unlink()
    return report


def one_setup(setup, protocol):
    """One run: `setup` is 'direct' (one replica, no nginx), 'nginx-1' or
    'nginx-2' (nginx in front of one or two replicas)."""
    with Processes() as ps:
        bus = start_redis(ps)
        directory = tempfile.mkdtemp(prefix="mcp-scale-")
        key = Path(directory) / "state.key"
        key.write_text(os.urandom(32).hex())
        count = 2 if setup == "nginx-2" else 1
        replicas, replica_pids, lb_pids = [], set(), set()
        for name in ("ra", "rb")[:count]:
            port = free_port()
            replica_pids.add(ps.start([str(REL / "mcp-server-core"), "--http", f"127.0.0.1:{port}", "--replica-id", name,
                      "--state-key-file", str(key), "--event-bus", bus], port).pid)
            replicas.append((name, port))
        if setup == "direct":
            url = f"http://127.0.0.1:{replicas[0][1]}/mcp"
        else:
            port = free_port()
            conf = Path(directory) / "nginx.conf"
            conf.write_text(nginx_config(directory, port, replicas))
            lb_pids.add(ps.start([NGINX, "-p", directory, "-c", str(conf), "-e",
                                  str(Path(directory) / "error.log")], port).pid)
            url = f"http://127.0.0.1:{port}/mcp"
        time.sleep(0.3)
        try:
            before = (cpu_s(replica_pids), cpu_s(lb_pids))
            report = load(url, protocol)
            calls = max(report["requests_ok"], 1)
            report["replicas_cpu_us_per_call"] = 1e6 * (cpu_s(replica_pids) - before[0]) / calls
            report["nginx_cpu_us_per_call"] = 1e6 * (cpu_s(lb_pids) - before[1]) / calls
            return report
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def fig_throughput():
    out = {}
    for protocol in ("2026-07-28", "2025-11-25"):
        out[protocol] = {}
        for setup in ("direct", "nginx-1", "nginx-2"):
            runs = [one_setup(setup, protocol) for _ in range(RUNS)]
            out[protocol][setup] = {
                "requests_per_s": [r["requests_per_s"] for r in runs],
                "median_rps": statistics.median(r["requests_per_s"] for r in runs),
                "p50_us": statistics.median(r["latency"]["p50_us"] for r in runs),
                "p99_us": statistics.median(r["latency"]["p99_us"] for r in runs),
                "replicas_cpu_us_per_call": statistics.median(r["replicas_cpu_us_per_call"] for r in runs),
                "nginx_cpu_us_per_call": statistics.median(r["nginx_cpu_us_per_call"] for r in runs),
                "failed": sum(r["requests_failed"] + r["sessions_failed"] for r in runs),
                "first_error": next((r["first_error"] for r in runs if r["first_error"]), None),
            }
    return out


def main():
    results = {
        "environment": {"cpus": os.cpu_count(), "runs": RUNS,
                        "redis": subprocess.run([REDIS, "--version"], capture_output=True, text=True).stdout.strip(),
                        "nginx": subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip()},
        "fanout": fig_fanout(),
        "throughput": fig_throughput(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({"fanout": results["fanout"]["median"], "throughput": {
        p: {s: {k: v for k, v in r.items() if k != "requests_per_s"} for s, r in t.items()}
        for p, t in results["throughput"].items()}}, indent=1))


if __name__ == "__main__":
    main()
