// The official TypeScript SDK (2025-11-25 session) through a load balancer
// with no affinity rule: every request of its session may land on another
// replica. Initializes, calls echo, answers an elicitation (the built-in
// confirm: the question goes out on the call's stream from one replica, the
// answer is POSTed to whichever replica the balancer picks), calls sleep
// with progress (an SSE answer), and ends the session (DELETE).
//
// Usage: node ts_sdk_round_robin.mjs http://127.0.0.1:PORT/mcp
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import assert from "node:assert/strict";

const url = new URL(process.argv[2]);
const client = new Client({ name: "ts-sdk-round-robin", version: "0" }, { capabilities: { elicitation: {} } });
const asked = [];
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  asked.push(request.params.message);
  return { action: "accept", content: { yes: true } };
});
const transport = new StreamableHTTPClientTransport(url);
await client.connect(transport);
const session = transport.sessionId;
assert.ok(session, "the server gave a session id");

for (let i = 0; i < 6; i++) {
  const echoed = await client.callTool({ name: "echo", arguments: { text: `ts ${i}` } });
  assert.equal(echoed.content[0].text, `ts ${i}`);
}
const confirmed = await client.callTool({ name: "confirm", arguments: { question: "From TypeScript?" } });
assert.equal(confirmed.content[0].text, "yes", `confirm returned ${JSON.stringify(confirmed.content)}`);
assert.deepEqual(asked, ["From TypeScript?"]);
const progress = [];
const slept = await client.callTool({ name: "sleep", arguments: { ms: 50 } }, undefined, {
  onprogress: (p) => progress.push(p.progress),
});
assert.equal(slept.content[0].text, "slept 50 ms");
assert.equal(progress.length, 10, `progress notifications: ${progress}`);

await transport.terminateSession();
await client.close();
console.log(`typescript sdk through the round robin: session ${session}, echo, elicitation and progress ok`);
