"""The official Python SDK's client-credentials OAuth provider against the
binary with authorization on (ci/auth/run.py starts both servers and drives
this script).

Usage: python_client.py MCP_URL ISSUER CLIENT_ID CLIENT_SECRET MODE

The client is told only the MCP endpoint, its credentials and which issuer
they belong to. It finds the authorization server from the server's 401 and
protected-resource metadata, gets a token for the resource with the scope
the 401 names, lists the tools and calls echo; calls broadcast, which needs
a scope it does not hold yet (403, a new token, success); then prints
"rotate" and waits for a line on stdin (the authorization server rotates its
signing key meanwhile, and the server's cached keys expire) and calls echo
again, which needs a token signed with the new key. Exits non-zero on any
mismatch.
"""

import asyncio
import sys

import httpx2

from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


class Memory:
    """Tokens kept in memory only."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def echo(client: Client, text: str, label: str) -> None:
    echoed = await client.call_tool("echo", {"text": text})
    assert not echoed.is_error, f"{label}: echo failed: {echoed}"
    assert echoed.content[0].text == text, f"{label}: echo returned {echoed.content}"


async def main(url: str, issuer: str, client_id: str, secret: str, mode: str) -> None:
    storage = Memory()
    provider = ClientCredentialsOAuthProvider(
        server_url=url, storage=storage, client_id=client_id, client_secret=secret, issuer=issuer
    )
    label = f"python {mode}"
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            listed = await client.list_tools()
            names = sorted(t.name for t in listed.tools)
            assert names == ["broadcast", "confirm", "echo", "sleep"], f"{label}: tools {names}"
            await echo(client, f"hello from {label}", label)
            first = storage.tokens.scope if storage.tokens else None
            assert first is not None and "mcp:admin" not in first.split(), f"{label}: first token's scope {first}"

            sent = await client.call_tool("broadcast", {"message": f"step-up from {label}"})
            assert not sent.is_error, f"{label}: broadcast failed: {sent}"
            stepped = (storage.tokens.scope or "").split() if storage.tokens else []
            assert "mcp:admin" in stepped, f"{label}: no step-up, scope {stepped}"
            before = storage.tokens.access_token if storage.tokens else None

            print("rotate", flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            assert line.strip() == "go", f"{label}: told {line!r}"

            await echo(client, f"after rotation, {label}", label)
            after = storage.tokens.access_token if storage.tokens else None
            assert after != before, f"{label}: the token did not change across the rotation"
    print(f"{label}: discovery, step-up and key rotation passed", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    asyncio.run(main(*sys.argv[1:]))
