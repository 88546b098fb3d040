"""The official Python SDK in legacy mode (2025-11-25 sessions) against
three replicas of the binary behind nginx with no affinity rule at all
(plain round robin), sharing a real Redis as their session store
(--state-store, append-only file on, appendfsync always) and event bus.

Usage: python_sdk_round_robin.py PATH_TO_SERVER_BINARY

One session throughout:
1. its requests are answered by several replicas (nginx's access log), an
   elicitation included (the client's answer lands on whichever replica
   nginx picks and reaches the call that waits for it);
2. calls of `sleep` with `poll` close their streams (SEP-1699): the SDK
   resumes each with Last-Event-ID, nginx sends that GET to another
   replica, which follows the call from Redis (progress, then the answer);
3. log messages raised by `broadcast` on whichever replica nginx picks
   reach the client once each, through the replica that holds its GET
   stream;
4. the replica holding that stream is killed (SIGKILL): the SDK resumes
   the stream elsewhere with Last-Event-ID, and the session goes on on the
   others, its log messages included;
5. Redis is restarted, then the killed replica is started again: it has no
   copy of the session, loads it from the restarted Redis, and serves it.
After the client closes the session (DELETE), no replica still holds it
and no gauge of any replica is left up.

Then the official TypeScript SDK (ts_sdk_round_robin.mjs, installed by
ci/ts-sdk-install.sh) runs a session of its own through the same round
robin, an elicitation included, and is served by several replicas.

Beside it, tasks (2026-07-28 requests of the tasks extension, sent as they
are: the Python SDK has no tasks): started before the kill on every
replica, each `tasks/get` through the round robin; after the kill, the
killed replica's tasks are reported failed by the others, the others'
are cancelled through whichever replica nginx picks, a finished one is
still completed, and all of it is still so after the Redis restart.
Exits non-zero on any mismatch.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from mcp import Client
from mcp.types import ElicitResult

from python_sdk_client import free_port, stop, stop_nginx, terminate_all, wait_for_port

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nginx"))
from replicas import round_robin  # noqa: E402


def answered_by(directory: str) -> "list[tuple[str, str]]":
    """(the replica that answered, status) of each request nginx logged."""
    rows = []
    with open(os.path.join(directory, "access.log")) as f:
        for line in f:
            if not line.strip():
                continue
            fields = line.split()
            # "$upstream_addr $http_mcp_method $status": a request retried
            # on another replica lists each one tried, the last answered.
            rows.append((fields[-3].rstrip(",") if len(fields) >= 3 else fields[0], fields[-1]))
    return rows


def scrape(port: int) -> "dict[str, float]":
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


TASKS = "io.modelcontextprotocol/tasks"


def stateless(url: str, method: str, name: str, params: dict) -> dict:
    """A 2026-07-28 request through nginx from a client that declares the
    tasks extension; its JSON-RPC response."""
    params = dict(params)
    params["_meta"] = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS: {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "round-robin", "version": "0"},
    }
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "content-type": "application/json", "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28", "mcp-method": method, "mcp-name": name})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        text = [d for d in data if d][-1]
    return json.loads(text)


def task_status(url: str, task: str) -> dict:
    answer = stateless(url, "tasks/get", task, {"taskId": task})
    assert "result" in answer, f"tasks/get {task}: {answer}"
    return answer["result"]


def until_task(url: str, task: str, want: str, within: float) -> dict:
    deadline = time.monotonic() + within
    while True:
        shown = task_status(url, task)
        if shown["status"] == want:
            return shown
        assert time.monotonic() < deadline, f"task {task} is {shown['status']}, never {want}: {shown}"
        time.sleep(0.2)


def start_tasks(url: str) -> "tuple[list[str], str]":
    """Long sleeps as tasks (nginx spreads them over the replicas) and one
    short one, waited for: the long ones' ids and the short one's."""
    long = []
    for _ in range(6):
        created = stateless(url, "tools/call", "sleep", {"name": "sleep", "arguments": {"ms": 600000}})
        assert created["result"]["resultType"] == "task", f"not a task: {created}"
        long.append(created["result"]["taskId"])
    short = stateless(url, "tools/call", "sleep", {"name": "sleep", "arguments": {"ms": 300}})
    short = short["result"]["taskId"]
    done = until_task(url, short, "completed", 15)
    assert done["result"]["content"][0]["text"] == "slept 300 ms", f"short task: {done}"
    for task in long:
        assert task_status(url, task)["status"] == "working", f"task {task} not working"
    return long, short


def after_kill(url: str, victim: str, long: "list[str]", short: str) -> None:
    """The killed replica's tasks fail (their lease lapses: 10 s), the
    others' are cancelled through any replica."""
    lost = [t for t in long if t.startswith(victim + ".")]
    kept = [t for t in long if not t.startswith(victim + ".")]
    assert lost and kept, f"the tasks did not spread: {long}"
    for task in lost:
        failed = until_task(url, task, "failed", 30)
        assert "the server running it stopped" in failed["error"]["message"], f"failed how? {failed}"
    for task in kept:
        assert task_status(url, task)["status"] == "working"
        ack = stateless(url, "tasks/cancel", task, {"taskId": task})
        assert "result" in ack, f"tasks/cancel: {ack}"
        until_task(url, task, "cancelled", 15)
    assert task_status(url, short)["status"] == "completed"
    print(f"round robin: {len(lost)} tasks of the killed replica reported failed, "
          f"{len(kept)} others cancelled through the round robin")


def tasks_kept(url: str, victim: str, long: "list[str]", short: str) -> None:
    for task in long:
        want = "failed" if task.startswith(victim + ".") else "cancelled"
        assert task_status(url, task)["status"] == want, f"task {task} lost its status"
    assert task_status(url, short)["status"] == "completed"
    print("round robin: every task kept its status through the Redis restart")


class Cluster:
    def __init__(self, binary: str, directory: str):
        self.binary = binary
        self.directory = directory
        self.redis_port = free_port()
        self.redis = None
        self.replicas = {}  # port -> process
        self.key = os.path.join(directory, "state.key")
        with open(self.key, "w") as f:
            f.write(os.urandom(32).hex())

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [os.environ.get("MCP_REDIS_SERVER", "redis-server"), "--port", str(self.redis_port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--dir", self.directory, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL)
        wait_for_port(self.redis_port)

    def restart_redis(self) -> None:
        self.redis.terminate()
        self.redis.wait(timeout=20)
        self.start_redis()

    def start_replica(self, port: int) -> None:
        redis = f"redis://127.0.0.1:{self.redis_port}/"
        self.replicas[port] = subprocess.Popen(
            [self.binary, "--http", f"127.0.0.1:{port}", "--state-key-file", self.key,
             "--replica-id", f"r{port}",
             "--state-store", redis, "--event-bus", redis, "--http-metrics"],
            env={"RUST_LOG": os.environ.get("MCP_REPLICA_LOG", "warn")},
            stderr=open(os.path.join(self.directory, f"replica-{port}.log"), "a") if os.environ.get("MCP_KEEP") else None)
        wait_for_port(port)

    def kill_replica(self, port: int) -> None:
        self.replicas[port].send_signal(signal.SIGKILL)
        self.replicas[port].wait(timeout=20)


def total(ports: "list[int]", metric: str) -> float:
    return sum(scrape(port).get(metric, 0) for port in ports)


async def polled_calls(client, ports: "list[int]") -> None:
    """Calls `sleep` with `poll` three times: each answered through a
    resumption, at least one followed on a replica that did not run it."""
    followed = total(ports, "mcp_http_streams_followed_total")
    for i in range(3):
        progress = []

        async def on_progress(done, whole, message) -> None:
            progress.append(done)

        slept = await client.call_tool("sleep", {"ms": 1500, "poll": True}, progress_callback=on_progress)
        assert slept.content[0].text == "slept 1500 ms", f"sleep returned {slept.content}"
        assert progress and progress[-1] == 10, f"call {i}: progress {progress}"
    followed = total(ports, "mcp_http_streams_followed_total") - followed
    assert followed >= 1, "no resumption was followed on another replica"
    print(f"round robin: 3 calls that closed their streams resumed through nginx, {followed:.0f} followed "
          f"on another replica until the answer")


async def broadcasts(client, logged: "list[str]", tag: str) -> None:
    """Raises six log messages with `broadcast`, through the round robin:
    each reaches the client's GET stream once."""
    sent = [f"{tag} {i}" for i in range(6)]
    for message in sent:
        await client.call_tool("broadcast", {"message": message})
    deadline = time.monotonic() + 10
    while sorted(m for m in logged if m.startswith(tag)) != sorted(sent):
        got = [m for m in logged if m.startswith(tag)]
        assert len(got) <= len(sent), f"a log message came twice: {got}"
        assert time.monotonic() < deadline, f"log messages {got}, raised {sent}"
        await asyncio.sleep(0.05)
    print(f"round robin: {len(sent)} log messages raised on the replicas nginx picked ({tag}) reached the "
          f"client's GET stream once each")


async def listening(ports: "list[int]") -> int:
    """The replica that holds the client's GET stream (waiting, without
    holding up the client's own tasks, for the stream to open)."""
    deadline = time.monotonic() + 10
    while True:
        open_here = [port for port in ports if scrape(port).get("mcp_http_standalone_streams", 0) > 0]
        if len(open_here) == 1:
            return open_here[0]
        assert time.monotonic() < deadline, f"GET streams open on {open_here}"
        await asyncio.sleep(0.1)


async def run(url: str, cluster: Cluster, ports: "list[int]") -> None:
    directory = cluster.directory
    asked = []
    logged = []

    async def on_elicit(context, params) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"yes": True})

    async def on_log(params) -> None:
        logged.append(str(params.data))

    async with Client(url, mode="legacy", elicitation_callback=on_elicit, logging_callback=on_log) as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        assert "echo" in names and "confirm" in names, f"tools {names}"
        for i in range(6):
            echoed = await client.call_tool("echo", {"text": f"call {i}"})
            assert echoed.content[0].text == f"call {i}", f"echo returned {echoed.content}"
        confirmed = await client.call_tool("confirm", {"question": "Across replicas?"})
        assert confirmed.content[0].text == "yes", f"confirm returned {confirmed.content}"
        assert asked == ["Across replicas?"], f"elicitations {asked}"
        served = {upstream for upstream, _ in answered_by(directory)}
        assert len(served) >= 2, f"the session's requests reached only {served}"
        print(f"round robin: one session served by {len(served)} replicas, elicitation included")

        await polled_calls(client, ports)
        await broadcasts(client, logged, "before")

        long, short = start_tasks(url)
        victim = await listening(ports)
        cluster.kill_replica(victim)
        for i in range(6):
            echoed = await client.call_tool("echo", {"text": f"after kill {i}"})
            assert echoed.content[0].text == f"after kill {i}", f"echo returned {echoed.content}"
        resumed_on = await listening([port for port in ports if port != victim])
        print(f"round robin: replica :{victim}, which held the GET stream, killed (SIGKILL); the session "
              f"went on, its stream resumed on :{resumed_on}")
        await broadcasts(client, logged, "after kill")
        after_kill(url, f"r{victim}", long, short)

        cluster.restart_redis()
        cluster.start_replica(victim)
        # nginx tries the replica again once its second of failure is over
        # (counted in whole seconds).
        time.sleep(2.5)
        before = len(answered_by(directory))
        for i in range(9):
            echoed = await client.call_tool("echo", {"text": f"after restart {i}"})
            assert echoed.content[0].text == f"after restart {i}", f"echo returned {echoed.content}"
        late = answered_by(directory)[before:]
        assert f"127.0.0.1:{victim}" in {u for u, _ in late}, f"the restarted replica served none of {late}"
        assert all(status == "200" for _, status in late), f"statuses after the restarts: {late}"
        print(f"round robin: Redis restarted, replica :{victim} started again and served the session from it")
        tasks_kept(url, f"r{victim}", long, short)
    # The client's DELETE ended the session on the replica it reached,
    # which told the others.
    deadline = time.monotonic() + 10
    while True:
        gauges = {port: scrape(port) for port in ports}
        up = {port: {name: value for name, value in g.items()
                     if name.startswith(("mcp_requests_in_flight", "mcp_client_requests_pending",
                                         "mcp_http_streams_parked", "mcp_http_standalone_streams",
                                         "mcp_listen_streams"))
                     and value != 0}
              for port, g in gauges.items()}
        held = {port: g["mcp_admission_permits"] - g["mcp_admission_permits_available"]
                for port, g in gauges.items()}
        if not any(up.values()) and not any(held.values()):
            break
        assert time.monotonic() < deadline, f"left up after the session ended: {up}, sessions held {held}"
        time.sleep(0.1)
    print("round robin: after the DELETE no replica holds the session and no gauge is left up")

    before = len(answered_by(directory))
    subprocess.run(["node", "ts_sdk_round_robin.mjs", url], check=True, timeout=120)
    served = {upstream for upstream, _ in answered_by(directory)[before:]}
    assert len(served) >= 2, f"the TypeScript session's requests reached only {served}"
    print(f"round robin: the TypeScript SDK's session was served by {len(served)} replicas")


def main() -> None:
    binary = sys.argv[1]
    directory = tempfile.mkdtemp(prefix="mcp-round-robin-")
    cluster = Cluster(binary, directory)
    nginx = None
    try:
        cluster.start_redis()
        ports = [free_port() for _ in range(3)]
        for port in ports:
            cluster.start_replica(port)
        lb_port = free_port()
        with open(os.path.join(directory, "nginx.conf"), "w") as f:
            f.write(round_robin(directory, lb_port, ports))
        nginx = subprocess.Popen(
            [os.environ.get("MCP_NGINX", "nginx"), "-p", directory, "-c", os.path.join(directory, "nginx.conf"),
             "-e", os.path.join(directory, "error.log")],
            start_new_session=True)
        wait_for_port(lb_port)
        asyncio.run(run(f"http://127.0.0.1:{lb_port}/mcp", cluster, ports))
        for process in cluster.replicas.values():
            stop(process)
    finally:
        if nginx is not None:
            stop_nginx(nginx)
        terminate_all([*cluster.replicas.values(), cluster.redis])
        if os.environ.get("MCP_KEEP"):
            print("kept", directory)
        else:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
