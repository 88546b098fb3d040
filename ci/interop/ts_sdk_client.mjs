// A real MCP client (the official TypeScript SDK) against the binary over
// Streamable HTTP: connects (initialize, session id), lists the tools, calls
// echo, calls sleep with progress, and checks what comes back. With
// --conformance (the binary serving the conformance fixtures), it lists and
// reads resources, gets a prompt with arguments and completes an argument.
//
// Usage: node ts_sdk_client.mjs http://127.0.0.1:PORT/mcp [--conformance]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import assert from "node:assert/strict";
import { z } from "zod";

const url = new URL(process.argv[2]);
const client = new Client({ name: "ts-sdk-interop", version: "0" });
const transport = new StreamableHTTPClientTransport(url);
await client.connect(transport);

const version = client.getServerVersion();
if (process.argv[3] === "--conformance") {
  await surface(client);
  await transport.terminateSession();
  await client.close();
  process.exit(0);
}
assert.equal(version.name, "mcp-server-core");
assert.ok(transport.sessionId, "the server gave a session id");

const { tools } = await client.listTools();
assert.deepEqual(tools.map((t) => t.name).sort(), ["broadcast", "confirm", "echo", "sleep"]);

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
  `typescript sdk (${url.protocol.slice(0, -1)}): server ${version.name} ${version.version}, session ${transport.sessionId ?? "ended"}, ` +
    `tools ${tools.length}, echo ok, ${progress.length} progress notifications`,
);

async function surface(client) {
  const { resources } = await client.listResources();
  const uris = resources.map((r) => r.uri);
  assert.ok(uris.includes("test://static-text") && uris.includes("test://static-binary"), `resources ${uris}`);
  const text = await client.readResource({ uri: "test://static-text" });
  assert.equal(text.contents[0].text, "This is the content of the static text resource.");
  const binary = await client.readResource({ uri: "test://static-binary" });
  assert.ok(binary.contents[0].blob.startsWith("iVBORw0KGgo"));
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ["test://template/{id}/data"]);
  const item = await client.readResource({ uri: "test://template/7/data" });
  assert.equal(JSON.parse(item.contents[0].text).id, "7");
  const { prompts } = await client.listPrompts();
  assert.ok(prompts.some((p) => p.name === "test_prompt_with_arguments"));
  const prompt = await client.getPrompt({ name: "test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } });
  assert.equal(prompt.messages[0].content.text, "Prompt with arguments: arg1='a', arg2='b'");
  await assert.rejects(client.getPrompt({ name: "test_prompt_with_arguments", arguments: { arg1: "a" } }), /arg2/);
  const completed = await client.complete({
    ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
    argument: { name: "arg1", value: "pa" },
  });
  assert.deepEqual(completed.completion.values, ["paris", "park", "party"]);
  // Icons (2025-11-25) on a tool, a resource, the template, a prompt, and
  // the server's own info with its title.
  const { tools } = await client.listTools();
  const decorated = [
    tools.find((t) => t.name === "test_simple_text"),
    resources.find((r) => r.uri === "test://static-text"),
    resourceTemplates[0],
    prompts.find((p) => p.name === "test_simple_prompt"),
    client.getServerVersion(),
  ];
  for (const item of decorated) {
    const icon = item?.icons?.[0];
    assert.ok(icon?.src.startsWith("data:image/png;base64,"), `icons of ${JSON.stringify(item)}`);
    assert.equal(icon.mimeType, "image/png");
    assert.deepEqual(icon.sizes, ["1x1"]);
  }
  assert.equal(client.getServerVersion().title, "MCP conformance test server (mcp-server-core)");
  // The skills extension: this SDK has no skills/list of its own, so the
  // request goes through its generic request() with a schema of ours.
  const skillsResult = z.object({ skills: z.array(z.object({ uri: z.string() }).passthrough()) }).passthrough();
  const { skills } = await client.request({ method: "skills/list", params: {} }, skillsResult);
  assert.deepEqual(skills.map((s) => s.uri), ["skill://conformance/pdf-processing/SKILL.md"]);
  const manifest = await client.readResource({ uri: skills[0].uri });
  assert.ok(manifest.contents[0].text.startsWith("---\nname: pdf-processing\n"));
  console.log(
    `typescript sdk (${url.protocol.slice(0, -1)} --conformance): ${resources.length} resources, template read, ${prompts.length} prompts, ` +
      `prompt ok, completion ${completed.completion.values}, icons on a tool, resource, template, prompt and the server, ` +
      `${skills.length} skill listed and its SKILL.md read`,
  );
}
