// The official TypeScript SDK's client-credentials OAuth provider against the
// binary with authorization on (ci/auth/run.py starts both servers and
// drives this script).
//
// Usage: node ts_sdk_auth_client.mjs MCP_URL ISSUER CLIENT_ID CLIENT_SECRET
//
// Told only the MCP endpoint, its credentials and their issuer, the client
// finds the authorization server from the server's 401 and
// protected-resource metadata, gets a token for the resource, lists the
// tools and calls echo; calls broadcast, which needs a scope it does not
// hold yet (403, a new token, success); then prints "rotate" and waits for a
// line on stdin (the authorization server rotates its signing key and the
// server's cached keys expire) and calls echo again, which needs a token
// signed with the new key.
//
// One thing is the test's own: SDK 1.32.2 builds a client-credentials token
// request from the provider's configured scope (fetchToken reads
// clientMetadata.scope), not from the scope a 401 or 403 challenge names, so
// the transport's fetch here copies each challenge's scope (added to what
// was asked for before) into the provider, as an application would. Finding
// the authorization server, asking it for a token for the resource, and
// retrying after a 401 or an insufficient_scope 403 are the SDK's.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import assert from "node:assert/strict";
import { createInterface } from "node:readline";

const [url, issuer, clientId, clientSecret] = process.argv.slice(2);
const provider = new ClientCredentialsProvider({ clientId, clientSecret, expectedIssuer: issuer });
const challenged = async (input, init) => {
  const response = await fetch(input, init);
  const header = response.headers.get("www-authenticate");
  const scope = header && String(input) === url && /scope="([^"]*)"/.exec(header);
  if (scope) {
    const asked = new Set((provider.clientMetadata.scope ?? "").split(" ").filter(Boolean));
    scope[1].split(" ").forEach((s) => asked.add(s));
    provider.clientMetadata.scope = [...asked].join(" ");
  }
  return response;
};
const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: challenged });
const client = new Client({ name: "ts-sdk-auth", version: "0" });
await client.connect(transport);

const scopes = () => (provider.tokens()?.scope ?? "").split(" ").filter(Boolean);
const echo = async (text) => {
  const echoed = await client.callTool({ name: "echo", arguments: { text } });
  assert.equal(echoed.isError, false, JSON.stringify(echoed));
  assert.equal(echoed.content[0].text, text);
};

const { tools } = await client.listTools();
assert.deepEqual(tools.map((t) => t.name).sort(), ["broadcast", "confirm", "echo", "sleep"]);
await echo("hello from typescript");
assert.ok(!scopes().includes("mcp:admin"), `first token's scope: ${scopes()}`);

const sent = await client.callTool({ name: "broadcast", arguments: { message: "step-up from typescript" } });
assert.equal(sent.isError, false, JSON.stringify(sent));
assert.ok(scopes().includes("mcp:admin"), `no step-up, scope: ${scopes()}`);
const before = provider.tokens()?.access_token;

console.log("rotate");
const lines = createInterface({ input: process.stdin });
const line = await new Promise((resolve) => lines.once("line", resolve));
lines.close();
assert.equal(line.trim(), "go");

await echo("after rotation, typescript");
assert.notEqual(provider.tokens()?.access_token, before, "the token did not change across the rotation");

await transport.terminateSession();
await client.close();
console.log("typescript: discovery, step-up and key rotation passed");
process.exit(0);
