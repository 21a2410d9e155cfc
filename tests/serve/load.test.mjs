// 64 clients loop against one server for OFFICINA_LOAD_SECONDS (default 60):
// no request may fail, the server's resident memory must level off (no leak
// per request), and /metrics must count exactly the requests and tokens the
// clients counted.
// Run: OFFICINA_BIN=build/src/cli/officina OFFICINA_LOAD_SECONDS=20 node tests/serve/load.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  Server, collect_chat_stream, load_openai_or_skip, make_fixtures, metric_sum, remove_dir,
} from "./serve_util.mjs";

const sdk = load_openai_or_skip();
const OpenAI = sdk.default ?? sdk.OpenAI;

const kClients = 64;
const kSeconds = Number(process.env.OFFICINA_LOAD_SECONDS || 60);
const kSampleMs = 3000;
const kModels = ["base", "a1", "a2"];
const kPrompts = ["Stato della pressa 3?", "Quanti pezzi oggi?", "Once upon a time", "Il forno è in allarme."];

let fx;
let server;

before(async () => {
  fx = await make_fixtures("load", 2);
  server = await Server.start(fx.base, [
    "--adapter", `a1=${fx.adapters[0]}`, "--adapter", `a2=${fx.adapters[1]}`, "--parallel", "8",
    "--max-queue", `${4 * kClients}`, "--threads", "2", "--ctx", "512",
  ]);
});

after(async () => {
  await server?.stop();
  remove_dir(fx?.dir);
});

// One client: cycles through non-streamed chat, streamed chat (usage in the
// last chunk) and completions, counting what it was told it used.
async function client_loop(id, deadline, totals) {
  const client = server.client(OpenAI, { timeout: 120000 });
  for (let i = 0; Date.now() < deadline; ++i) {
    const model = kModels[(id + i) % kModels.length];
    const content = kPrompts[(id * 7 + i) % kPrompts.length];
    const max_tokens = 2 + ((id + 3 * i) % 12);
    const kind = (id + i) % 3;
    try {
      let usage;
      if (kind === 0) {
        const r = await client.chat.completions.create({
          model, max_tokens, temperature: 0.7, seed: id * 1000 + i, messages: [{ role: "user", content }],
        });
        assert.equal(typeof r.choices[0].message.content, "string");
        usage = r.usage;
        ++totals.chat;
      } else if (kind === 1) {
        const got = await collect_chat_stream(await client.chat.completions.create({
          model, max_tokens, temperature: 0, messages: [{ role: "user", content }], stream: true,
          stream_options: { include_usage: true },
        }));
        assert.ok(got.finish_reason, "a stream without a finish_reason");
        usage = got.usage;
        ++totals.chat;
      } else {
        const r = await client.completions.create({ model, prompt: content, max_tokens, temperature: 0 });
        assert.equal(typeof r.choices[0].text, "string");
        usage = r.usage;
        ++totals.completions;
      }
      assert.ok(usage && Number.isInteger(usage.prompt_tokens) && Number.isInteger(usage.completion_tokens),
                `no usage (kind ${kind})`);
      assert.ok(usage.completion_tokens <= max_tokens);
      totals.prompt_tokens += usage.prompt_tokens;
      totals.completion_tokens += usage.completion_tokens;
    } catch (e) {
      totals.failures.push(`client ${id} request ${i} (kind ${kind}, model ${model}): ${e.status ?? ""} ${e.message}`);
    }
  }
}

let totals = null;  // what the clients counted, for the /metrics test

test(`${kClients} clients for ${kSeconds} s: no failures, steady memory`, async () => {
  totals = { chat: 0, completions: 0, prompt_tokens: 0, completion_tokens: 0, failures: [] };
  const start = Date.now();
  const deadline = start + kSeconds * 1000;
  const samples = [];  // [seconds since start, RSS bytes]
  const sampler = setInterval(() => samples.push([(Date.now() - start) / 1000, server.rss_bytes()]), kSampleMs);
  try {
    await Promise.all(Array.from({ length: kClients }, (_, id) => client_loop(id, deadline, totals)));
  } finally {
    clearInterval(sampler);
  }
  const mib = (b) => (b / 1048576).toFixed(1);
  const trace = samples.map(([t, b]) => `${t.toFixed(0)}s:${mib(b)}`).join(" ");
  console.log(`load: ${totals.chat} chat + ${totals.completions} completions requests, ` +
              `${totals.prompt_tokens} prompt + ${totals.completion_tokens} generated tokens; RSS MiB ${trace}`);

  assert.deepEqual(totals.failures.slice(0, 10), [], `${totals.failures.length} requests failed`);
  assert.ok(totals.chat + totals.completions >= kClients, "fewer requests than clients");

  // Memory: after warm-up (a quarter of the run, at most 10 s) it levels off.
  const warm_at = Math.min(10, kSeconds / 4);
  const warm = samples.find(([t]) => t >= warm_at);
  assert.ok(warm && samples.length >= 3, `too few RSS samples: ${trace}`);
  const limit = warm[1] * 1.2 + 32 * 1048576;
  for (const [t, b] of samples.slice(-3))
    assert.ok(b <= limit, `RSS ${mib(b)} MiB at ${t.toFixed(0)} s, over ${mib(limit)} MiB (warm ${mib(warm[1])}): ${trace}`);
});

test("/metrics counts exactly the clients' requests and tokens", async () => {
  assert.ok(totals, "the load test did not run");
  // Every request the clients made, and nothing else, counted once.
  const m = await server.metrics();
  const requests = (where) => metric_sum(m, "officina_requests_total", where);
  const chat = (e) => typeof e === "string" && e.includes("chat");
  const completions = (e) => typeof e === "string" && e.includes("completions") && !e.includes("chat");
  assert.equal(requests({ endpoint: chat, status: "200" }), totals.chat, "chat requests");
  assert.equal(requests({ endpoint: completions, status: "200" }), totals.completions, "completions requests");
  assert.equal(requests({ status: (s) => s !== "200" }), 0, "requests that did not answer 200");
  assert.equal(metric_sum(m, "officina_prompt_tokens_total"), totals.prompt_tokens, "prompt tokens");
  assert.equal(metric_sum(m, "officina_generated_tokens_total"), totals.completion_tokens, "generated tokens");
  assert.equal(metric_sum(m, "officina_queue_length"), 0);
  assert.equal(metric_sum(m, "officina_active_sequences"), 0);
});
