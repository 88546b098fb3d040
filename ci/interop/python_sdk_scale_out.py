"""The official Python SDK against two replicas of the binary behind nginx
(round-robin, no session affinity), sharing a real Redis (--event-bus) and
the requestState key (--state-key-file).

Usage: python_sdk_scale_out.py PATH_TO_SERVER_BINARY

Needs redis-server and nginx (MCP_REDIS_SERVER, MCP_NGINX; ci/scale-out.sh
installs them). In "auto" mode (2026-07-28, stateless) the client's calls
must reach both replicas and an elicitation round (input_required, then the
retry) must be answered across them; in "legacy" mode (2025-11-25) every
request of the session must reach the replica that made it (its id names
the replica; ci/nginx/replicas.conf.in routes on it). nginx's access log
says which replica answered each request. Exits non-zero on any mismatch.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile

from mcp import Client
from mcp.types import ElicitResult

from python_sdk_client import free_port, stop, stop_nginx, terminate_all, wait_for_port

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nginx"))
from replicas import config as nginx_config  # noqa: E402


def access_log(directory: str) -> "list[str]":
    with open(os.path.join(directory, "access.log")) as f:
        return [line.split()[0] for line in f if line.strip()]


async def run(url: str, mode: str, directory: str) -> None:
    asked = []

    async def on_elicit(context, params) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"yes": True})

    start = len(access_log(directory))
    async with Client(url, mode=mode, elicitation_callback=on_elicit) as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        assert "echo" in names and "confirm" in names, f"{mode}: tools {names}"
        for i in range(4):
            echoed = await client.call_tool("echo", {"text": f"call {i}"})
            assert echoed.content[0].text == f"call {i}", f"{mode}: echo returned {echoed.content}"
        before_confirm = len(access_log(directory))
        confirmed = await client.call_tool("confirm", {"question": "Across replicas?"})
        assert confirmed.content[0].text == "yes", f"{mode}: confirm returned {confirmed.content}"
        assert asked == ["Across replicas?"], f"{mode}: elicitations {asked}"
        confirm_lines = access_log(directory)[before_confirm:]
        version = client.protocol_version
    lines = access_log(directory)[start:]
    replicas = set(lines)
    if mode == "auto":
        assert len(replicas) == 2, f"auto: every request reached {replicas}"
        assert len(confirm_lines) >= 2 and len(set(confirm_lines)) == 2, \
            f"auto: the elicitation round and its retry were answered by {confirm_lines}"
    else:
        assert len(replicas) == 1, f"legacy: the session's requests reached {replicas}"
    print(f"python sdk through nginx ({mode}): protocol {version}, {len(lines)} requests "
          f"answered by {len(replicas)} replica(s); confirm answered by {confirm_lines}")


def main() -> None:
    binary = sys.argv[1]
    redis_bin = os.environ.get("MCP_REDIS_SERVER", "redis-server")
    nginx_bin = os.environ.get("MCP_NGINX", "nginx")
    directory = tempfile.mkdtemp(prefix="mcp-scale-out-")
    processes = []
    try:
        redis_port = free_port()
        processes.append(subprocess.Popen(
            [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL))
        wait_for_port(redis_port)
        key = os.path.join(directory, "state.key")
        with open(key, "w") as f:
            f.write(os.urandom(32).hex())
        replicas = []
        for name in ("ra", "rb"):
            port = free_port()
            processes.append(subprocess.Popen(
                [binary, "--http", f"127.0.0.1:{port}", "--replica-id", name, "--state-key-file", key,
                 "--event-bus", f"redis://127.0.0.1:{redis_port}/"],
                env={"RUST_LOG": "warn"}))
            wait_for_port(port)
            replicas.append((name, port))
        lb_port = free_port()
        with open(os.path.join(directory, "nginx.conf"), "w") as f:
            f.write(nginx_config(directory, lb_port, replicas))
        nginx = subprocess.Popen([nginx_bin, "-p", directory, "-c", os.path.join(directory, "nginx.conf"),
                                  "-e", os.path.join(directory, "error.log")],
                                 start_new_session=True)
        wait_for_port(lb_port)
        try:
            for mode in ("auto", "legacy"):
                asyncio.run(run(f"http://127.0.0.1:{lb_port}/mcp", mode, directory))
        finally:
            stop_nginx(nginx)
        for replica in processes[1:]:
            stop(replica)
    finally:
        terminate_all(reversed(processes))
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
