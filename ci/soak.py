#!/usr/bin/env python3
"""Churn and soak: does the server give back everything a session took?

Starts the release binary (TCP, Streamable HTTP and a metrics listener) and
drives it with `mcp-load --cycles` (each cycle: connect, initialize, one
echo call, disconnect; over HTTP: create a 2025 session, call, DELETE),
with every 1000th session abandoned for the server's timeouts to clean up
(over TCP a connection that never initializes, cut by the handshake
timeout; over HTTP a session never deleted, ended by idle expiry). All the
while it samples the server's open descriptors and RSS (from /proc) and
its sessions, permits and connections (scraped from /metrics).

It passes when, after the run: no session is left, every admission and
request permit is back, no HTTP connection is open, the descriptors are
back to their count before the run, RSS is within RSS_BOUND_KIB of its
size before the run, and the server counted every cycle a client made.

    python3 ci/soak.py          # the short run CI does (about a minute)
    python3 ci/soak.py --full   # 1,000,000 TCP and 100,000 HTTP cycles;
                                # writes analysis/results/soak.json and
                                # analysis/plots/soak.svg

Standard library only; the binaries are built by `cargo test --release
--no-run` (the build `ci/test.sh` has already made).
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REL = ROOT / "target" / "release"
# RSS may grow this much over the run (allocator caches, the kernel's
# accounting of freed pages); a leak of even 100 bytes per cycle would
# pass it within the first 200,000 cycles of the full run.
RSS_BOUND_KIB = 16 * 1024
ABANDON_EVERY = 1000
HANDSHAKE_TIMEOUT_MS = 1000
IDLE_TIMEOUT_MS = 2000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(url):
    """The samples of a /metrics scrape: {(name, labels): value}."""
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)', line)
        if not m:
            raise ValueError(f"not an OpenMetrics sample: {line!r}")
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def total(samples, name, labels_contain=""):
    return sum(v for (n, labels), v in samples.items() if n == name and labels_contain in labels)


class Server:
    def __init__(self):
        self.tcp = f"127.0.0.1:{free_port()}"
        self.http = f"127.0.0.1:{free_port()}"
        self.metrics_url = f"http://127.0.0.1:{free_port()}/metrics"
        metrics_addr = self.metrics_url.split("/")[2]
        cmd = [str(REL / "mcp-server-core"), "--tcp", self.tcp, "--http", self.http,
               "--metrics", metrics_addr, "--max-sessions", "4096",
               "--handshake-timeout-ms", str(HANDSHAKE_TIMEOUT_MS),
               "--session-idle-timeout-ms", str(IDLE_TIMEOUT_MS)]
        self.proc = subprocess.Popen(cmd, env=dict(os.environ, RUST_LOG="warn"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                scrape(self.metrics_url)
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.05)

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def steady_fds(self):
        """The fewest descriptors over half a second: a scrape's own
        connection comes and goes, a descriptor really held stays."""
        fewest = self.fds()
        for _ in range(10):
            time.sleep(0.05)
            fewest = min(fewest, self.fds())
        return fewest

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def reading(self):
        m = scrape(self.metrics_url)
        return {
            "fds": self.fds(),
            "rss_kib": self.rss_kib(),
            "sessions": total(m, "mcp_sessions"),
            "permits_free": total(m, "mcp_admission_permits_available"),
            "permits": total(m, "mcp_admission_permits"),
            "request_permits_free": total(m, "mcp_request_permits_available"),
            "request_permits": total(m, "mcp_request_permits"),
            "http_connections_open": total(m, "mcp_http_connections_open"),
            "requests_in_flight": total(m, "mcp_requests_in_flight"),
            "calls_ok": total(m, "mcp_requests_total", 'method="tools/call",outcome="ok"'),
            "sessions_admitted": total(m, "mcp_sessions_admitted_total"),
            "handshake_timeouts": total(m, "mcp_handshake_timeouts_total"),
        }

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Sampler(threading.Thread):
    """Samples the server every `every` seconds, tagged with the phase."""

    def __init__(self, server, every):
        super().__init__(daemon=True)
        self.server, self.every, self.phase = server, every, "start"
        self.samples, self.started, self.stopped = [], time.time(), threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                r = self.server.reading()
            except OSError:
                r = None
            if r:
                r["t"] = round(time.time() - self.started, 2)
                r["phase"] = self.phase
                self.samples.append(r)
            self.stopped.wait(self.every)


def churn(server, transport, cycles, workers, abandon=True):
    """Runs mcp-load --cycles; returns its report."""
    out = ROOT / "target" / f"soak-{transport}-{os.getpid()}.json"
    target = ["--tcp", server.tcp] if transport == "tcp" else ["--http", f"http://{server.http}/mcp"]
    per_worker = max(1, cycles // workers)
    args = [str(REL / "mcp-load"), *target, "-c", str(workers), "--cycles", str(per_worker),
            "--json", str(out)]
    if abandon:
        args += ["--abandon-every", str(ABANDON_EVERY)]
    subprocess.run(args, check=True, timeout=3600, stdout=subprocess.DEVNULL)
    report = json.loads(out.read_text())
    out.unlink()
    return report


def settle(server, timeout):
    """Waits until no session is left and every permit is back."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = server.reading()
        if (r["sessions"] == 0 and r["permits_free"] == r["permits"]
                and r["request_permits_free"] == r["request_permits"]
                and r["http_connections_open"] == 0 and r["requests_in_flight"] == 0):
            return r
        time.sleep(0.2)
    return server.reading()


def svg(path, samples):
    """RSS and descriptors over the run, one panel each, phases marked."""
    marks = [(s["t"], s["phase"]) for i, s in enumerate(samples)
             if i == 0 or samples[i - 1]["phase"] != s["phase"]]
    w, h, left, right, top, gap = 760, 480, 70, 20, 40, 50
    panel = (h - top - gap - 40) / 2
    tmax = max(s["t"] for s in samples) or 1
    X = lambda t: left + t / tmax * (w - left - right)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">Server RSS and open descriptors over the soak run</text>']
    for i, (key, label, scale, color) in enumerate([("rss_kib", "RSS (MiB)", 1 / 1024, "#c0392b"),
                                                    ("fds", "open descriptors", 1, "#2471a3")]):
        y_top = top + i * (panel + gap)
        ys = [s[key] * scale for s in samples]
        ymax = max(ys) * 1.1 or 1
        Y = lambda v: y_top + panel - v / ymax * panel
        out.append(f'<line x1="{left}" y1="{y_top + panel}" x2="{w - right}" y2="{y_top + panel}" stroke="black"/>')
        out.append(f'<line x1="{left}" y1="{y_top}" x2="{left}" y2="{y_top + panel}" stroke="black"/>')
        out.append(f'<text x="{left + 6}" y="{y_top + 12}">{label}</text>')
        for k in range(3):
            v = ymax * k / 2
            out.append(f'<text x="{left - 6}" y="{Y(v) + 4}" text-anchor="end">{v:.3g}</text>')
        for t, name in marks:
            out.append(f'<line x1="{X(t):.1f}" y1="{y_top}" x2="{X(t):.1f}" y2="{y_top + panel}" stroke="#bbb" stroke-dasharray="4 3"/>')
            if i == 0:
                anchor = "end" if X(t) > w - right - 60 else "start"
                dx = -3 if anchor == "end" else 3
                out.append(f'<text x="{X(t) + dx:.1f}" y="{y_top + panel - 4}" fill="#777" text-anchor="{anchor}">{name}</text>')
        pts = " ".join(f"{X(s['t']):.1f},{Y(s[key] * scale):.1f}" for s in samples)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>')
    for k in range(5):
        t = tmax * k / 4
        out.append(f'<text x="{X(t):.1f}" y="{h - 24}" text-anchor="middle">{t:.0f}</text>')
    out.append(f'<text x="{(w - left) / 2}" y="{h - 6}">seconds</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1,000,000 TCP and 100,000 HTTP cycles")
    parser.add_argument("--tcp-cycles", type=int)
    parser.add_argument("--http-cycles", type=int)
    opts = parser.parse_args()
    tcp_cycles = opts.tcp_cycles or (1_000_000 if opts.full else 400_000)
    http_cycles = opts.http_cycles or (100_000 if opts.full else 80_000)

    subprocess.run(["cargo", "test", "--release", "--no-run", "--quiet"], cwd=ROOT, check=True)
    server = Server()
    failures = []
    try:
        # Warm up (threads, allocator arenas, the first connections), then
        # take the baseline.
        churn(server, "tcp", 2_000, 32, abandon=False)
        churn(server, "http", 1_000, 16, abandon=False)
        before = settle(server, 30)
        before["fds"] = server.steady_fds()
        sampler = Sampler(server, 1.0 if opts.full else 0.25)
        sampler.start()
        started = time.time()
        results = {}
        for transport, cycles, workers in [("tcp", tcp_cycles, 32), ("http", http_cycles, 16)]:
            sampler.phase = transport
            t = time.time()
            report = churn(server, transport, cycles, workers)
            results[transport] = {
                "cycles": report["requests_ok"], "failed": report["requests_failed"],
                "rejected": report["sessions_rejected"], "seconds": round(time.time() - t, 1),
                "cycles_per_s": round(report["requests_per_s"]),
                "cycle_p50_us": report["latency"]["p50_us"], "cycle_p99_us": report["latency"]["p99_us"],
            }
            print(f"soak: {transport}: {report['requests_ok']} cycles in {time.time() - t:.1f} s "
                  f"({report['requests_per_s']:.0f}/s), {report['requests_failed']} failed, "
                  f"{report['sessions_rejected']} rejected")
        sampler.phase = "expiry"
        after = settle(server, 30)
        after["fds"] = server.steady_fds()
        sampler.stopped.set()
        sampler.join()
        elapsed = time.time() - started

        done = sum(r["cycles"] for r in results.values())
        abandoned_tcp = (tcp_cycles // 32 * 32) // ABANDON_EVERY
        abandoned_http = (http_cycles // 16 * 16) // ABANDON_EVERY
        checks = [
            ("no session left", after["sessions"] == 0, f"{after['sessions']:.0f}"),
            ("every session permit back", after["permits_free"] == after["permits"],
             f"{after['permits_free']:.0f} of {after['permits']:.0f}"),
            ("every request permit back", after["request_permits_free"] == after["request_permits"],
             f"{after['request_permits_free']:.0f} of {after['request_permits']:.0f}"),
            ("no HTTP connection open", after["http_connections_open"] == 0, f"{after['http_connections_open']:.0f}"),
            ("descriptors back to the start", after["fds"] == before["fds"], f"{before['fds']} -> {after['fds']}"),
            (f"RSS within {RSS_BOUND_KIB} KiB of the start", after["rss_kib"] - before["rss_kib"] <= RSS_BOUND_KIB,
             f"{before['rss_kib']} -> {after['rss_kib']} KiB"),
            ("no cycle failed", all(r["failed"] == 0 and r["rejected"] == 0 for r in results.values()),
             ", ".join(f"{k}: {r['failed']} failed, {r['rejected']} rejected" for k, r in results.items())),
            ("every call counted by the server", after["calls_ok"] - before["calls_ok"] == done + abandoned_http,
             f"{after['calls_ok'] - before['calls_ok']:.0f} calls for {done} cycles and {abandoned_http} abandoned HTTP sessions"),
            ("every abandoned TCP client cut by the handshake timeout",
             after["handshake_timeouts"] - before["handshake_timeouts"] == abandoned_tcp,
             f"{after['handshake_timeouts'] - before['handshake_timeouts']:.0f} of {abandoned_tcp}"),
        ]
        peak = {k: max(s[k] for s in sampler.samples) for k in ("rss_kib", "fds", "sessions")}
        print(f"soak: {done} cycles in {elapsed:.0f} s; peak RSS {peak['rss_kib']} KiB, "
              f"peak descriptors {peak['fds']}, peak sessions {peak['sessions']:.0f}")
        for name, ok, detail in checks:
            print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}")
            if not ok:
                failures.append(name)
        if opts.full:
            data = {"tcp_cycles": tcp_cycles, "http_cycles": http_cycles, "abandon_every": ABANDON_EVERY,
                    "handshake_timeout_ms": HANDSHAKE_TIMEOUT_MS, "session_idle_timeout_ms": IDLE_TIMEOUT_MS,
                    "results": results, "before": before, "after": after, "peak": peak,
                    "elapsed_s": round(elapsed), "checks": [{"check": n, "ok": o, "detail": d} for n, o, d in checks],
                    "samples": sampler.samples}
            (ROOT / "analysis" / "results" / "soak.json").write_text(json.dumps(data, indent=1) + "\n")
            svg(ROOT / "analysis" / "plots" / "soak.svg", sampler.samples)
            print("soak: wrote analysis/results/soak.json and analysis/plots/soak.svg")
    finally:
        server.stop()
    if failures:
        print(f"ci/soak.py: FAILED: {', '.join(failures)}")
        sys.exit(1)
    print("ci/soak.py: the server gave back everything")


if __name__ == "__main__":
    main()
