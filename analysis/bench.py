#!/usr/bin/env python3
"""Measures every figure of analysis/async-fixes-performance.md.

Runs the three servers (mcp-server-core, the antipattern "before" in
benches/antipattern_server.rs, and the rmcp peer in benches/rmcp_echo_server.rs)
against the mcp-load generator on this machine, BENCH_RUNS times each
(default 3), and writes the raw runs and medians to analysis/results/bench.json
and the plots to analysis/plots/*.svg. Standard library only.

    cargo build --release --bins --examples
    python3 analysis/bench.py            # all figures, about 15 minutes
    python3 analysis/bench.py throughput # one figure (see FIGURES below)

Servers and load share this machine's cores, so absolute numbers are for
comparing within one run; the report quotes ratios.
"""

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REL = ROOT / "target" / "release"
LOAD = REL / "mcp-load"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RESULTS = ROOT / "analysis" / "results" / "bench.json"
PLOTS = ROOT / "analysis" / "plots"
CLK_TCK = os.sysconf("SC_CLK_TCK")
_port = [17800]


def next_addr():
    _port[0] += 1
    return f"127.0.0.1:{_port[0]}"


def server_cmd(kind, addr, max_sessions, transport="tcp"):
    flag = f"--{transport}"
    if kind == "ours":
        return [str(REL / "mcp-server-core"), flag, addr, "--max-sessions", str(max_sessions)]
    if kind == "before":
        return [str(REL / "examples" / "antipattern_server"), flag, addr, "--max-sessions", str(max_sessions)]
    if kind == "rmcp":
        return [str(REL / "examples" / "rmcp_echo_server"), flag, addr]
    raise ValueError(kind)


def stdio_cmd(kind):
    if kind == "ours":
        return f"{REL / 'mcp-server-core'} --stdio"
    return f"{REL / 'examples' / 'rmcp_echo_server'} --stdio"


class Server:
    def __init__(self, kind, max_sessions=20000, transport="tcp"):
        self.kind = kind
        self.addr = next_addr()
        self.url = f"http://{self.addr}/mcp"
        env = dict(os.environ, RUST_LOG="warn")
        self.proc = subprocess.Popen(server_cmd(kind, self.addr, max_sessions, transport), env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        host, port = self.addr.split(":")
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"{kind} did not start")
                time.sleep(0.05)
        time.sleep(0.3)  # let the probe connection go away

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def load(args, timeout=300):
    """Runs mcp-load to completion and returns its JSON report."""
    out = ROOT / "target" / f"load-{os.getpid()}.json"
    subprocess.run([str(LOAD), *args, "--json", str(out)], check=True, timeout=timeout,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(out.read_text())


def load_background(args):
    """Starts mcp-load; returns the process (its stderr says when it holds)."""
    return subprocess.Popen([str(LOAD), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_holding(proc, timeout=120):
    """Waits for mcp-load's 'holding N sessions' line; returns N."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stderr.readline()
        if line.startswith("holding"):
            return int(line.split()[1])
        if not line and proc.poll() is not None:
            break
    raise RuntimeError("mcp-load never started holding")


def median(xs):
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- figures

def fig_connect():
    """Connect-to-first-response latency (connect, send initialize, read its
    result): one client at a time (10 connections a run), and 32 at once."""
    out = {}
    for kind in ("before", "ours", "rmcp"):
        runs = []
        for _ in range(RUNS):
            with Server(kind) as s:
                single = [load(["--tcp", s.addr, "-c", "1", "-n", "1"])["connect"]["p50_us"] for _ in range(10)]
                burst = load(["--tcp", s.addr, "-c", "32", "-n", "5"])
                runs.append({"single_us": median(single), "single_samples_us": single,
                             "c32_p50_us": burst["connect"]["p50_us"], "c32_p99_us": burst["connect"]["p99_us"]})
        out[kind] = {"runs": runs,
                     "single_us": median([r["single_us"] for r in runs]),
                     "c32_p50_us": median([r["c32_p50_us"] for r in runs]),
                     "c32_p99_us": median([r["c32_p99_us"] for r in runs])}
    return out


def fig_throughput():
    """Closed-loop echo calls for 3 s at C = 1, 8, 64, 512 over TCP; C = 1, 8 over stdio."""
    out = {"tcp": {}, "stdio": {}}
    for c in (1, 8, 64, 512):
        out["tcp"][c] = {}
        for kind in ("before", "ours", "rmcp"):
            runs = []
            for _ in range(RUNS):
                with Server(kind) as s:
                    cpu0 = s.cpu_s()
                    r = load(["--tcp", s.addr, "-c", str(c), "--duration", "3"])
                    # Server CPU per call: the load generator shares the cores,
                    # so this separates the server's cost from the client's.
                    r["server_cpu_us_per_call"] = 1e6 * (s.cpu_s() - cpu0) / max(r["requests_ok"], 1)
                    runs.append(r)
            out["tcp"][c][kind] = summarize(runs)
    for c in (1, 8):
        out["stdio"][c] = {}
        for kind in ("ours", "rmcp"):
            runs = [load(["--stdio", stdio_cmd(kind), "-c", str(c), "--duration", "3"]) for _ in range(RUNS)]
            out["stdio"][c][kind] = summarize(runs)
    return out


def fig_stdio_pipelined():
    """One stdio session with 64 echo calls in flight (mcp-load --pipeline
    64), for 3 s: how a client that does not wait for each answer sees the
    server."""
    out = {}
    for kind in ("ours", "rmcp"):
        runs = [load(["--stdio", stdio_cmd(kind), "-c", "1", "--pipeline", "64", "--duration", "3"])
                for _ in range(RUNS)]
        out[kind] = summarize(runs)
    return out


def summarize(runs):
    by_rps = sorted(runs, key=lambda r: r["requests_per_s"])
    mid = by_rps[len(by_rps) // 2]
    return {
        "requests_per_s": [r["requests_per_s"] for r in runs],
        "median_rps": median([r["requests_per_s"] for r in runs]),
        "p50_us": median([r["latency"]["p50_us"] for r in runs]),
        "p90_us": median([r["latency"]["p90_us"] for r in runs]),
        "p99_us": median([r["latency"]["p99_us"] for r in runs]),
        "max_us": median([r["latency"]["max_us"] for r in runs]),
        "errors": sum(r["requests_failed"] + r["sessions_failed"] for r in runs),
        "server_cpu_us_per_call": median([r["server_cpu_us_per_call"] for r in runs if "server_cpu_us_per_call" in r]),
        "median_run_quantiles": mid["latency"]["quantiles"],
    }


def fig_idle_cpu():
    """Server CPU over 4 s with 1,000 idle sessions connected."""
    out = {}
    for kind in ("before", "ours", "rmcp"):
        runs = []
        for _ in range(RUNS):
            with Server(kind) as s:
                holder = load_background(["--tcp", s.addr, "-c", "1000", "--hold", "10"])
                n = wait_holding(holder)
                time.sleep(1)
                c0, t0 = s.cpu_s(), time.time()
                time.sleep(4)
                c1, t1 = s.cpu_s(), time.time()
                holder.kill()
                holder.wait()
                runs.append({"sessions": n, "cpu_percent": 100 * (c1 - c0) / (t1 - t0)})
        out[kind] = {"runs": runs, "cpu_percent": median([r["cpu_percent"] for r in runs])}
    return out


def fig_memory_per_session():
    """Server RSS with 0 and with 10,000 idle sessions."""
    out = {}
    for kind in ("before", "ours", "rmcp"):
        runs = []
        for _ in range(RUNS):
            with Server(kind, max_sessions=20000) as s:
                rss0 = s.rss_kib()
                holder = load_background(["--tcp", s.addr, "-c", "10000", "--hold", "8",
                                          "--connect-timeout", "60"])
                n = wait_holding(holder, timeout=180)
                time.sleep(2)
                rss1 = s.rss_kib()
                holder.kill()
                holder.wait()
                runs.append({"sessions": n, "rss0_kib": rss0, "rss_kib": rss1,
                             "per_session_kib": (rss1 - rss0) / max(n, 1)})
        out[kind] = {"runs": runs, "per_session_kib": median([r["per_session_kib"] for r in runs]),
                     "rss0_kib": median([r["rss0_kib"] for r in runs]),
                     "rss_kib": median([r["rss_kib"] for r in runs])}
    return out


HTTP_PROTOCOLS = ("2025-11-25", "2026-07-28")


def fig_http_throughput():
    """Closed-loop echo calls for 3 s over Streamable HTTP at C = 8 and 64, in
    both generations (2025 sessions; 2026-07-28 stateless), against rmcp's
    own Streamable HTTP server."""
    out = {}
    for protocol in HTTP_PROTOCOLS:
        out[protocol] = {}
        for c in (8, 64):
            out[protocol][c] = {}
            for kind in ("ours", "rmcp"):
                runs = []
                for _ in range(RUNS):
                    with Server(kind, transport="http") as s:
                        cpu0 = s.cpu_s()
                        r = load(["--http", s.url, "--protocol", protocol, "-c", str(c), "--duration", "3"])
                        r["server_cpu_us_per_call"] = 1e6 * (s.cpu_s() - cpu0) / max(r["requests_ok"], 1)
                        runs.append(r)
                out[protocol][c][kind] = summarize(runs)
    return out


def fig_http_memory():
    """Server RSS with 0 and with 2,000 idle 2025 HTTP sessions (each with its
    keep-alive connection open)."""
    out = {}
    for kind in ("ours", "rmcp"):
        runs = []
        for _ in range(RUNS):
            with Server(kind, transport="http") as s:
                rss0 = s.rss_kib()
                holder = load_background(["--http", s.url, "-c", "2000", "--hold", "8", "--connect-timeout", "60"])
                n = wait_holding(holder, timeout=180)
                time.sleep(2)
                rss1 = s.rss_kib()
                holder.kill()
                holder.wait()
                runs.append({"sessions": n, "rss0_kib": rss0, "rss_kib": rss1,
                             "per_session_kib": (rss1 - rss0) / max(n, 1)})
        out[kind] = {"runs": runs, "per_session_kib": median([r["per_session_kib"] for r in runs])}
    return out


def fig_slow_reader():
    """Server RSS over 12 s while one client never reads and another calls
    `broadcast` (1 KiB message) in a loop for 10 s."""
    out = {}
    message = json.dumps({"message": "x" * 1024})
    for kind in ("before", "ours"):
        runs = []
        for _ in range(RUNS):
            with Server(kind) as s:
                slow = load_background(["--tcp", s.addr, "-c", "1", "--hold", "16", "--no-read"])
                wait_holding(slow)
                rss0 = s.rss_kib()
                caller = subprocess.Popen([str(LOAD), "--tcp", s.addr, "-c", "1", "--tool", "broadcast",
                                           "--arguments", message, "--duration", "10"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                series, t0 = [], time.time()
                while time.time() - t0 < 12:
                    series.append((round(time.time() - t0, 2), s.rss_kib()))
                    time.sleep(0.5)
                caller.wait(timeout=60)
                slow.kill()
                slow.wait()
                runs.append({"rss0_kib": rss0, "series": series, "growth_kib": series[-1][1] - rss0})
        runs.sort(key=lambda r: r["growth_kib"])
        out[kind] = {"runs": runs, "growth_kib": median([r["growth_kib"] for r in runs]),
                     "median_series": runs[len(runs) // 2]["series"]}
    return out


def fig_shutdown():
    """SIGTERM with 1,000 sessions each in a 60 s `sleep` call: time to exit."""
    out = {}
    for kind in ("before", "ours"):
        runs = []
        for _ in range(RUNS):
            s = Server(kind)
            busy = subprocess.Popen([str(LOAD), "--tcp", s.addr, "-c", "1000", "--tool", "sleep",
                                     "--arguments", '{"ms":60000}', "-n", "1"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 60
            while s.fds() < 1000 and time.time() < deadline:
                time.sleep(0.1)
            time.sleep(1.5)  # the calls are in flight
            t0 = time.time()
            s.proc.send_signal(signal.SIGTERM)
            try:
                s.proc.wait(timeout=30)
                took = time.time() - t0
            except subprocess.TimeoutExpired:
                took = None
            s.stop()
            busy.kill()
            busy.wait()
            runs.append({"exit_s": took, "exit_code": s.proc.returncode})
        out[kind] = {"runs": runs, "exit_ms": None if any(r["exit_s"] is None for r in runs)
                     else 1000 * median([r["exit_s"] for r in runs])}
    return out


def fig_admission():
    """1,000 concurrent connects, each staying connected, against max_sessions = 100."""
    out = {}
    for kind in ("before", "ours"):
        runs = []
        for _ in range(RUNS):
            with Server(kind, max_sessions=100) as s:
                r = load(["--tcp", s.addr, "-c", "1000", "--hold", "2"])
                runs.append({"admitted": r["sessions_admitted"], "rejected": r["sessions_rejected"],
                             "failed": r["sessions_failed"]})
        out[kind] = {"runs": runs, "overshoot_median": median([r["admitted"] - 100 for r in runs]),
                     "overshoot_max": max(r["admitted"] - 100 for r in runs)}
    return out


FIGURES = {
    "connect": fig_connect,
    "throughput": fig_throughput,
    "stdio_pipelined": fig_stdio_pipelined,
    "idle_cpu": fig_idle_cpu,
    "memory_per_session": fig_memory_per_session,
    "slow_reader": fig_slow_reader,
    "shutdown": fig_shutdown,
    "admission": fig_admission,
    "http_throughput": fig_http_throughput,
    "http_memory": fig_http_memory,
}


# ---------------------------------------------------------------- plots

COLORS = {"ours": "#1b7837", "before": "#b2182b", "rmcp": "#2166ac"}
LABELS = {"ours": "mcp-server-core", "before": "antipattern (before)", "rmcp": "rmcp 3.11"}


def svg_lines(path, title, xlabel, ylabel, series, logx=False):
    """A small line chart: series is {name: [(x, y), ...]}."""
    import math
    w, h, left, right, top, bottom = 640, 360, 70, 170, 40, 50
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    fx = (lambda v: math.log10(max(v, 1e-9))) if logx else (lambda v: v)
    x0, x1 = fx(min(xs)), fx(max(xs))
    y0, y1 = 0, max(ys) * 1.05 or 1
    X = lambda v: left + (fx(v) - x0) / ((x1 - x0) or 1) * (w - left - right)
    Y = lambda v: h - bottom - (v - y0) / ((y1 - y0) or 1) * (h - top - bottom)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2 - 60}" y="22" font-size="14">{title}</text>',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
           f'<text x="{(left + w - right) / 2 - 40}" y="{h - 12}">{xlabel}</text>',
           f'<text x="14" y="{top - 10}">{ylabel}</text>']
    for i in range(5):
        yv = y0 + (y1 - y0) * i / 4
        out.append(f'<text x="{left - 8}" y="{Y(yv) + 4}" text-anchor="end">{yv:.3g}</text>')
        out.append(f'<line x1="{left}" y1="{Y(yv)}" x2="{w - right}" y2="{Y(yv)}" stroke="#ddd"/>')
    ticks = sorted(set(xs)) if len(set(xs)) <= 8 else [min(xs) + (max(xs) - min(xs)) * i / 4 for i in range(5)]
    if logx:
        ticks = [10 ** e for e in range(math.floor(x0), math.ceil(x1) + 1)]
    for xv in ticks:
        if min(xs) <= xv <= max(xs) or logx:
            out.append(f'<text x="{X(xv)}" y="{h - bottom + 16}" text-anchor="middle">{xv:.3g}</text>')
    for i, (name, pts) in enumerate(series.items()):
        color = COLORS.get(name.split()[0], "#555")
        d = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in pts)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{d}"/>')
        out.append(f'<rect x="{w - right + 10}" y="{top + 18 * i}" width="12" height="12" fill="{color}"/>')
        label = LABELS.get(name, name)
        out.append(f'<text x="{w - right + 28}" y="{top + 18 * i + 11}">{label}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def plots(results):
    PLOTS.mkdir(parents=True, exist_ok=True)
    t = results.get("throughput")
    if t:
        for c in ("64", "512"):
            if c in t["tcp"]:
                series = {kind: [(us / 1000, q * 100) for q, us in v["median_run_quantiles"]]
                          for kind, v in t["tcp"][c].items()}
                svg_lines(PLOTS / f"latency-cdf-c{c}.svg", f"echo latency, C = {c}, TCP (median run)",
                          "latency (ms, log scale)", "percent of calls", series, logx=True)
        series = {kind: [(int(c), t["tcp"][c][kind]["median_rps"] / 1000) for c in t["tcp"]]
                  for kind in ("before", "ours", "rmcp")}
        svg_lines(PLOTS / "throughput.svg", "echo throughput over TCP (median of runs)",
                  "concurrent sessions C (log scale)", "thousand calls/s", series, logx=True)
    s = results.get("slow_reader")
    if s:
        series = {kind: [(x, kib / 1024) for x, kib in v["median_series"]] for kind, v in s.items()}
        svg_lines(PLOTS / "memory-slow-reader.svg", "server RSS while one client never reads",
                  "seconds (broadcasts from 0 to 10 s)", "RSS (MiB)", series)


def main():
    wanted = sys.argv[1:] or list(FIGURES)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["environment"] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip(),
        "runs": RUNS,
    }
    for name in wanted:
        started = time.time()
        print(f"bench: {name} ...", flush=True)
        results[name] = json.loads(json.dumps(FIGURES[name]()))  # str keys, like a reload
        print(f"bench: {name} done in {time.time() - started:.0f} s", flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    plots(results)


if __name__ == "__main__":
    main()
