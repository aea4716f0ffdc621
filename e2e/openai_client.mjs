// End-to-end check of `tformer serve` with the official openai client:
// completes, chats and streams against a server on 127.0.0.1.
// Usage: node openai_client.mjs http://127.0.0.1:8080/v1
import OpenAI from "openai";
import assert from "node:assert/strict";

const baseURL = process.argv[2] || "http://127.0.0.1:8080/v1";
const client = new OpenAI({ baseURL, apiKey: process.env.TFORMER_API_KEY || "unused", maxRetries: 0 });
let passed = 0, failed = 0;
async function check(name, fn) {
  try { await fn(); passed++; console.log("ok  ", name); } catch (e) { failed++; console.log("FAIL", name, e.message); }
}
const models = await client.models.list();
const model = models.data[0].id;
await check("models", () => assert.ok(model));
await check("completion", async () => {
  const r = await client.completions.create({ model, prompt: "The ", max_tokens: 20, temperature: 0 });
  assert.equal(r.choices[0].finish_reason, "length");
  assert.equal(r.usage.completion_tokens, 20);
  const again = await client.completions.create({ model, prompt: "The ", max_tokens: 20, temperature: 0 });
  assert.equal(again.choices[0].text, r.choices[0].text);
});
await check("chat", async () => {
  const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: "hello" }], max_tokens: 10, seed: 1 });
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(r.usage.completion_tokens, 10);
});
await check("stream", async () => {
  const full = await client.completions.create({ model, prompt: "A ", max_tokens: 30, temperature: 0 });
  const s = await client.completions.create({ model, prompt: "A ", max_tokens: 30, temperature: 0, stream: true });
  let text = "", finish = null;
  for await (const c of s) { text += c.choices[0].text; finish = c.choices[0].finish_reason || finish; }
  assert.equal(text, full.choices[0].text);
  assert.equal(finish, "length");
});
await check("chat stream", async () => {
  const s = await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 8, stream: true, seed: 2 });
  let n = 0;
  for await (const c of s) if (c.choices[0] && c.choices[0].delta.content) n++;
  assert.ok(n > 0);
});
await check("error", async () => {
  await assert.rejects(client.completions.create({ model: "nope", prompt: "x" }), (e) => e.status === 404);
});
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
