// A real MCP client (the official TypeScript SDK) against the binary over
// Streamable HTTP: connects (initialize, session id), lists the tools, calls
// echo, calls sleep with progress, and checks what comes back.
//
// Usage: node ts_sdk_client.mjs http://127.0.0.1:PORT/mcp
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import assert from "node:assert/strict";

const url = new URL(process.argv[2]);
const client = new Client({ name: "ts-sdk-interop", version: "0" });
const transport = new StreamableHTTPClientTransport(url);
await client.connect(transport);

const version = client.getServerVersion();
assert.equal(version.name, "mcp-server-core");
assert.ok(transport.sessionId, "the server gave a session id");

const { tools } = await client.listTools();
assert.deepEqual(tools.map((t) => t.name).sort(), ["broadcast", "echo", "sleep"]);

const echoed = await client.callTool({ name: "echo", arguments: { text: "hello from typescript" } });
assert.equal(echoed.isError, false);
assert.equal(echoed.content[0].text, "hello from typescript");

const progress = [];
const slept = await client.callTool({ name: "sleep", arguments: { ms: 50 } }, undefined, {
  onprogress: (p) => progress.push(p.progress),
});
assert.equal(slept.isError, false);
assert.equal(progress.length, 10, `progress notifications: ${progress}`);

await transport.terminateSession();
await client.close();
console.log(
  `typescript sdk (http): server ${version.name} ${version.version}, session ${transport.sessionId ?? "ended"}, ` +
    `tools ${tools.length}, echo ok, ${progress.length} progress notifications`,
);
