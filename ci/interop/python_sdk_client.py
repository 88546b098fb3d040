"""A real MCP client (the official Python SDK) against the binary, over stdio
and over Streamable HTTP.

Usage: python_sdk_client.py PATH_TO_SERVER_BINARY [PATH_TO_AXUM_EXAMPLE]
       python_sdk_client.py --url URL    (a server already running, e.g. HTTPS)

For each transport it runs twice: once in the SDK's default mode ("auto":
probes server/discover and speaks 2026-07-28 statelessly if the server offers
it), once forcing the initialize handshake ("legacy"). Each run lists the
tools, calls echo, calls sleep with progress, and checks what comes back.
Then, against the binary with --conformance over HTTP, in both modes: lists
and reads resources (text, binary, from a template), gets a prompt with
arguments and completes an argument. With the axum example
(examples/axum.rs: MCP mounted in an axum router behind a layer of its own),
in both modes: calls echo, sleep with progress, and whoami, whose answer
comes from what the example's layer put in the request's extensions and the
client's User-Agent header; then stops it with SIGINT. Exits non-zero on any
mismatch.
"""

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time

from mcp import Client, StdioServerParameters
from mcp.types import ElicitResult, PromptReference, ResourceTemplateReference

EXPECTED_TOOLS = ["broadcast", "confirm", "echo", "sleep"]


async def run(server: "StdioServerParameters | str", mode: str, transport: str) -> None:
    progress = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    asked = []

    async def on_elicit(context, params) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"yes": True})

    async with Client(server, mode=mode, elicitation_callback=on_elicit) as client:
        listed = await client.list_tools()
        names = sorted(t.name for t in listed.tools)
        assert names == EXPECTED_TOOLS, f"{transport} {mode}: tools {names}"

        echoed = await client.call_tool("echo", {"text": "hello from python"})
        assert not echoed.is_error, f"{transport} {mode}: echo failed: {echoed}"
        assert echoed.content[0].text == "hello from python", f"{transport} {mode}: echo returned {echoed.content}"

        slept = await client.call_tool("sleep", {"ms": 50}, progress_callback=on_progress)
        assert not slept.is_error, f"{transport} {mode}: sleep failed: {slept}"
        assert progress, f"{transport} {mode}: no progress notifications"

        bad = await client.call_tool("echo", {})
        assert bad.is_error, f"{transport} {mode}: echo without text should fail"

        # An elicitation from a built-in tool: a request on the call's stream
        # (legacy), an input_required round and a retry (auto, 2026-07-28).
        confirmed = await client.call_tool("confirm", {"question": "Ship it?"})
        assert not confirmed.is_error, f"{transport} {mode}: confirm failed: {confirmed}"
        assert confirmed.content[0].text == "yes", f"{transport} {mode}: confirm returned {confirmed.content}"
        assert asked == ["Ship it?"], f"{transport} {mode}: elicitations {asked}"

        info = client.server_info
        assert info is not None and info.name == "mcp-server-core", f"{transport} {mode}: server info {info}"

        print(f"python sdk ({transport}, {mode}): protocol {client.protocol_version}, server {info.name}, tools {names}, "
              f"echo ok, {len(progress)} progress notifications, {len(asked)} elicitation(s) answered")


async def run_surface(url: str, mode: str) -> None:
    async with Client(url, mode=mode) as client:
        where = f"http {mode} --conformance"
        resources = await client.list_resources()
        uris = {r.uri for r in resources.resources}
        assert {"test://static-text", "test://static-binary"} <= uris, f"{where}: resources {uris}"
        text = await client.read_resource("test://static-text")
        assert text.contents[0].text == "This is the content of the static text resource.", f"{where}: {text}"
        binary = await client.read_resource("test://static-binary")
        assert binary.contents[0].blob.startswith("iVBORw0KGgo"), f"{where}: {binary}"
        templates = await client.list_resource_templates()
        assert [t.uri_template for t in templates.resource_templates] == ["test://template/{id}/data"], where
        item = await client.read_resource("test://template/7/data")
        assert '"id":"7"' in item.contents[0].text, f"{where}: {item}"
        prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
        assert prompt.messages[0].content.text == "Prompt with arguments: arg1='a', arg2='b'", f"{where}: {prompt}"
        completed = await client.complete(
            PromptReference(type="ref/prompt", name="test_prompt_with_arguments"), {"name": "arg1", "value": "pa"}
        )
        assert completed.completion.values == ["paris", "park", "party"], f"{where}: {completed}"
        by_id = await client.complete(
            ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data"), {"name": "id", "value": "4"}
        )
        assert by_id.completion.values == ["42"], f"{where}: {by_id}"
        # Icons (2025-11-25) on a tool, a resource, the template, a prompt.
        tools = {t.name: t for t in (await client.list_tools()).tools}
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        static = next(r for r in resources.resources if r.uri == "test://static-text")
        for what, item in [("tool", tools["test_simple_text"]), ("resource", static),
                           ("template", templates.resource_templates[0]), ("prompt", prompts["test_simple_prompt"])]:
            icons = item.icons or []
            assert icons and icons[0].src.startswith("data:image/png;base64,"), f"{where}: {what} icons {icons}"
            assert icons[0].mime_type == "image/png" and icons[0].sizes == ["1x1"], f"{where}: {what} {icons[0]}"
        assert static.title == "Static Text Resource", f"{where}: {static}"
        # A skill's SKILL.md (the skills extension) is a resource like any
        # other to this SDK, which has no skills/list of its own.
        skill_md = "skill://conformance/pdf-processing/SKILL.md"
        assert skill_md in uris, f"{where}: no skill among {uris}"
        manifest = await client.read_resource(skill_md)
        assert manifest.contents[0].text.startswith("---\nname: pdf-processing\n"), f"{where}: {manifest}"
        print(f"python sdk ({where}): protocol {client.protocol_version}, {len(uris)} resources, template read, "
              f"prompt ok, completion {completed.completion.values}, icons on a tool, resource, template, prompt, "
              f"a skill's SKILL.md read")


async def run_axum(url: str, mode: str) -> None:
    progress = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async with Client(url, mode=mode) as client:
        where = f"axum example {mode}"
        names = sorted(t.name for t in (await client.list_tools()).tools)
        assert "whoami" in names and "echo" in names, f"{where}: tools {names}"
        echoed = await client.call_tool("echo", {"text": "through axum"})
        assert echoed.content[0].text == "through axum", f"{where}: echo returned {echoed.content}"
        slept = await client.call_tool("sleep", {"ms": 50}, progress_callback=on_progress)
        assert not slept.is_error and progress, f"{where}: sleep {slept}, progress {progress}"
        who = (await client.call_tool("whoami", {})).content[0].text
        # "anonymous": the example's layer found no X-Caller and said so in
        # the extensions; the user agent is the SDK's HTTP client's header.
        assert who.startswith("anonymous (user agent: python-httpx"), f"{where}: whoami returned {who!r}"
        print(f"python sdk ({where}): protocol {client.protocol_version}, echo ok, "
              f"{len(progress)} progress notifications, whoami {who!r}")


def serve_axum(example: str) -> "tuple[subprocess.Popen, int]":
    port = free_port()
    server = subprocess.Popen([example, f"127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
    wait_for_port(port)
    return server, port


def stop_axum(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGINT)
    out, _ = server.communicate(timeout=20)
    assert server.returncode == 0, f"the axum example exited with {server.returncode} after SIGINT"
    assert "sessions closed" in out, f"the axum example did not report its drain: {out!r}"


def serve_http(binary: str, *extra: str) -> "tuple[subprocess.Popen, int]":
    port = free_port()
    server = subprocess.Popen([binary, "--http", f"127.0.0.1:{port}", *extra], env={"RUST_LOG": "warn"})
    wait_for_port(port)
    return server, port


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    code = server.wait(timeout=20)
    assert code == 0, f"the HTTP server exited with {code} after SIGTERM"


def terminate_all(processes) -> None:
    """Ends every process of `processes` (None skipped) still running:
    SIGTERM, then SIGKILL after 5 s."""
    for process in processes:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def stop_nginx(nginx: subprocess.Popen) -> None:
    """Stops an nginx started in its own process group (start_new_session):
    the master first, and if it has not exited in time, the whole group,
    so that no worker outlives it."""
    os.killpg(nginx.pid, signal.SIGTERM)
    try:
        nginx.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(nginx.pid, signal.SIGKILL)
        nginx.wait()


_ports = itertools.count(os.getpid() % 12_000)


def free_port() -> int:
    """A loopback port nothing listens on now, for a child process to bind.

    Taken from below the kernel's ephemeral range (32768 and up on Linux),
    so no bind to port 0 and no outgoing connection is given it while the
    child starts, and never handed out twice by this process."""
    for _ in range(12_000):
        port = 20_000 + next(_ports) % 12_000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port in 20000..32000")


def wait_for_port(port: int, deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"the server never listened on port {port}")


def main() -> None:
    if sys.argv[1] == "--url":
        for mode in ("auto", "legacy"):
            asyncio.run(run(sys.argv[2], mode, sys.argv[2].split(":")[0]))
        return
    binary = sys.argv[1]
    stdio = StdioServerParameters(command=binary, args=["--stdio"], env={"RUST_LOG": "warn"})
    for mode in ("auto", "legacy"):
        asyncio.run(run(stdio, mode, "stdio"))
    server, port = serve_http(binary)
    try:
        for mode in ("auto", "legacy"):
            asyncio.run(run(f"http://127.0.0.1:{port}/mcp", mode, "http"))
    finally:
        stop(server)
    server, port = serve_http(binary, "--conformance")
    try:
        for mode in ("auto", "legacy"):
            asyncio.run(run_surface(f"http://127.0.0.1:{port}/mcp", mode))
    finally:
        stop(server)
    if len(sys.argv) > 2:
        server, port = serve_axum(sys.argv[2])
        try:
            for mode in ("auto", "legacy"):
                asyncio.run(run_axum(f"http://127.0.0.1:{port}/mcp", mode))
        finally:
            stop_axum(server)


if __name__ == "__main__":
    main()
