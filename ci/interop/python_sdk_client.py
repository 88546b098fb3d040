"""A real MCP client (the official Python SDK) against the binary over stdio.

Usage: python_sdk_client.py PATH_TO_SERVER_BINARY

Runs twice: once in the SDK's default mode ("auto": probes server/discover and
speaks 2026-07-28 statelessly if the server offers it), once forcing the
initialize handshake ("legacy"). Each run lists the tools, calls echo, calls
sleep with progress, and checks what comes back. Exits non-zero on any
mismatch.
"""

import asyncio
import sys

from mcp import Client, StdioServerParameters

EXPECTED_TOOLS = ["broadcast", "echo", "sleep"]


async def run(binary: str, mode: str) -> None:
    params = StdioServerParameters(command=binary, args=["--stdio"], env={"RUST_LOG": "warn"})
    progress = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async with Client(params, mode=mode) as client:
        listed = await client.list_tools()
        names = sorted(t.name for t in listed.tools)
        assert names == EXPECTED_TOOLS, f"{mode}: tools {names}"

        echoed = await client.call_tool("echo", {"text": "hello from python"})
        assert not echoed.is_error, f"{mode}: echo failed: {echoed}"
        assert echoed.content[0].text == "hello from python", f"{mode}: echo returned {echoed.content}"

        slept = await client.call_tool("sleep", {"ms": 50}, progress_callback=on_progress)
        assert not slept.is_error, f"{mode}: sleep failed: {slept}"
        assert progress, f"{mode}: no progress notifications"

        bad = await client.call_tool("echo", {})
        assert bad.is_error, f"{mode}: echo without text should fail"

        print(f"python sdk ({mode}): protocol {client.protocol_version}, tools {names}, "
              f"echo ok, {len(progress)} progress notifications")


def main() -> None:
    binary = sys.argv[1]
    for mode in ("auto", "legacy"):
        asyncio.run(run(binary, mode))


if __name__ == "__main__":
    main()
