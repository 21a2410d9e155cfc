// Continuous batching across adapters must not change what a request gets:
// 16 greedy streaming chat requests spread over the base and 4 adapters, run
// all at once, each give the text the same request gives when run alone.
// Run: OFFICINA_BIN=build/src/cli/officina node tests/serve/concurrency.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { Server, collect_chat_stream, load_openai_or_skip, make_fixtures, metric_sum, remove_dir, sleep } from "./serve_util.mjs";

const sdk = load_openai_or_skip();
const OpenAI = sdk.default ?? sdk.OpenAI;

const kModels = ["base", "a1", "a2", "a3", "a4"];
const kPrompts = [
  "Stato della pressa 3?",
  "Quanti pezzi ha fatto la linea 2 oggi?",
  "Write a haiku about a conveyor belt that never stops moving.",
  "Il forno di verniciatura è in allarme da dieci minuti: cosa controllo per primo?",
];
const kRequests = 16;

let fx;
let server;
let client;

before(async () => {
  fx = await make_fixtures("concurrency", 4);
  const adapters = fx.adapters.flatMap((dir, i) => ["--adapter", `a${i + 1}=${dir}`]);
  server = await Server.start(fx.base, [...adapters, "--parallel", "8", "--max-queue", "64", "--threads", "2"]);
  client = server.client(OpenAI);
});

after(async () => {
  await server?.stop();
  remove_dir(fx?.dir);
});

// Request i: model and prompt vary independently, and lengths differ so that
// sequences join and leave the batch at different steps.
function request(i) {
  return {
    model: kModels[i % kModels.length],
    messages: [{ role: "user", content: kPrompts[i % kPrompts.length] }],
    max_tokens: 12 + 4 * (i % 5),
    temperature: 0,
    seed: i,
    stream: true,
  };
}

async function run(i) {
  const got = await collect_chat_stream(await client.chat.completions.create(request(i)));
  return { text: got.text, finish_reason: got.finish_reason };
}

test("16 concurrent greedy streams over 4 adapters equal the same requests run alone", async () => {
  const alone = [];
  for (let i = 0; i < kRequests; ++i) alone.push(await run(i));

  // A mix-up of adapters between rows would only show if the models disagree.
  const by_model = new Map();
  for (let i = 0; i < kRequests; ++i) {
    if (i % kPrompts.length !== 0) continue;
    by_model.set(kModels[i % kModels.length], alone[i].text);
  }
  // Their max_tokens differ, so compare the part all of them have.
  const shortest = Math.min(...[...by_model.values()].map((t) => t.length));
  const heads = [...by_model.values()].map((t) => t.slice(0, shortest));
  assert.ok(shortest > 0 && new Set(heads).size === heads.length,
            `models gave equal texts for one prompt: ${JSON.stringify([...by_model])}`);

  for (let round = 0; round < 2; ++round) {
    const together = await Promise.all(Array.from({ length: kRequests }, (_, i) => run(i)));
    for (let i = 0; i < kRequests; ++i) {
      assert.equal(together[i].text, alone[i].text,
                   `round ${round}, request ${i} (${JSON.stringify({ ...request(i), messages: undefined })}) ` +
                   "differs when run among others");
      assert.equal(together[i].finish_reason, alone[i].finish_reason, `round ${round}, request ${i}: finish_reason`);
    }
  }
});

test("non-streamed requests mixed with streamed ones give the same texts", async () => {
  const alone = [];
  for (let i = 0; i < 8; ++i) alone.push(await run(i));
  const together = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    if (i % 2 === 0) return run(i);
    const r = await client.chat.completions.create({ ...request(i), stream: false });
    return { text: r.choices[0].message.content, finish_reason: r.choices[0].finish_reason };
  }));
  assert.deepEqual(together, alone);
});

// A client that gives up frees its sequence slot at once, streamed or not:
// the server counts the request as 499 (client closed request) and stops
// generating long before max_tokens.
// Polls /metrics until no sequence is active and the chat endpoint has
// counted `want` requests as 499 (the count lands just after the cancel flag
// the scheduler acts on, so wait for both).
async function wait_cancelled(chat_499, want, timeout_ms) {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const m = await server.metrics();
    if (metric_sum(m, "officina_active_sequences") === 0 && chat_499(m) >= want) return m;
    if (Date.now() > deadline) {
      throw new Error(`after ${timeout_ms} ms: ${metric_sum(m, "officina_active_sequences")} sequences active, ` +
                      `${chat_499(m)} requests counted as 499 (want ${want})`);
    }
    await sleep(50);
  }
}

test("a client that disconnects cancels its generation, streamed or not", async () => {
  const long = { model: "a1", messages: [{ role: "user", content: kPrompts[2] }], max_tokens: 1500, temperature: 0 };
  const chat_499 = (m) => metric_sum(m, "officina_requests_total", { endpoint: "/v1/chat/completions", status: "499" });
  const before = await server.metrics();
  const generated_before = metric_sum(before, "officina_generated_tokens_total");

  // Not streamed: the SDK aborts the HTTP request while the reply is generated.
  const controller = new AbortController();
  const pending = client.chat.completions.create({ ...long, stream: false }, { signal: controller.signal });
  await sleep(300);
  controller.abort();
  await assert.rejects(pending, (e) => e.name === "APIUserAbortError" || /abort/i.test(e.message));
  let m = await wait_cancelled(chat_499, chat_499(before) + 1, 10000);
  assert.equal(chat_499(m) - chat_499(before), 1, "the abandoned request counts as 499");

  // Streamed: read a few chunks, then leave.
  const streamed = new AbortController();
  const stream = await client.chat.completions.create({ ...long, stream: true }, { signal: streamed.signal });
  let chunks = 0;
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content && ++chunks === 3) {
        streamed.abort();
        break;  // chunks already received would still be yielded
      }
    }
  } catch (e) {
    assert.ok(e.name === "APIUserAbortError" || /abort/i.test(e.message), e.message);
  }
  assert.equal(chunks, 3);
  m = await wait_cancelled(chat_499, chat_499(before) + 2, 10000);
  assert.equal(chat_499(m) - chat_499(before), 2, "the abandoned stream counts as 499");
  // Neither ran to max_tokens (cancelled sequences count no tokens).
  assert.ok(metric_sum(m, "officina_generated_tokens_total") - generated_before < 1500);

  // And the server goes on serving.
  const after_r = await client.chat.completions.create({ ...request(0), stream: false });
  assert.ok(after_r.choices[0].message.content.length > 0);
});
