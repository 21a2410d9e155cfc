// `officina serve` driven by the official openai SDK: the endpoints, the
// OpenAI request options, adapters (at start and at run time), errors, a slow
// client and /metrics. One server for most tests (they run in order, in one
// process); the startup and /metrics tests start their own.
// Run: OFFICINA_BIN=build/src/cli/officina node tests/serve/openai_sdk.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";

import {
  Server, collect_chat_stream, count_tokens, json_prefix_state, json_schema_problems, l2_norm, load_openai_or_skip, make_adapter,
  make_fixtures, metric_names, metric_sum, remove_dir, sleep,
} from "./serve_util.mjs";

const sdk = load_openai_or_skip();
const OpenAI = sdk.default ?? sdk.OpenAI;
const { APIError } = sdk;

const kReadTimeoutSeconds = 2;
const kMaxBody = 256 * 1024;
const kCtx = 1024;  // room for the tool definitions the template renders

let fx;       // fixtures: base model, adapters (the third is loaded at run time)
let server;   // base "base", adapters "a1" and "a2"
let client;

before(async () => {
  fx = await make_fixtures("sdk", 3);
  server = await Server.start(fx.base, [
    "--adapter", `a1=${fx.adapters[0]}`, "--adapter", `a2=${fx.adapters[1]}`, "--parallel", "2", "--ctx", `${kCtx}`,
    "--threads", "2", "--max-body", `${kMaxBody}`, "--read-timeout", `${kReadTimeoutSeconds}`,
  ]);
  client = server.client(OpenAI);
});

after(async () => {
  const exit = await server?.stop();
  remove_dir(fx?.dir);
  // A clean shutdown on SIGTERM is part of the contract.
  if (exit) assert.ok(exit.code === 0 || exit.signal === "SIGTERM", `serve exited with ${JSON.stringify(exit)}`);
});

const kMessages = [{ role: "user", content: "Ciao, come stai oggi?" }];

function greedy(extra = {}) {
  return { model: "base", messages: kMessages, max_tokens: 16, temperature: 0, seed: 1, ...extra };
}

// Awaits a rejected SDK call; checks it is an APIError with `status` and,
// when given, `code`; returns the error for further checks.
async function api_error(promise, status, code) {
  let error;
  await assert.rejects(promise, (e) => {
    error = e;
    return true;
  });
  assert.ok(error instanceof APIError, `expected an APIError, got ${error}`);
  assert.equal(error.status, status, `status of ${error.message}`);
  assert.equal(typeof error.error?.message, "string", `error.message in ${JSON.stringify(error.error)}`);
  assert.equal(typeof error.error?.type, "string", `error.type in ${JSON.stringify(error.error)}`);
  if (code !== undefined) assert.equal(error.code, code, `code of ${error.message}`);
  return error;
}

// A raw (non-SDK) response carrying the OpenAI error object.
function assert_error_body(r, status, what) {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  assert.ok(r.json && typeof r.json.error === "object", `${what}: no error object in ${r.text}`);
  for (const key of ["message", "type", "param", "code"])
    assert.ok(key in r.json.error, `${what}: error has no '${key}': ${r.text}`);
  assert.equal(typeof r.json.error.message, "string");
  assert.ok(r.json.error.message.length > 0);
}

function check_usage(usage, max_tokens) {
  assert.ok(usage, "no usage");
  assert.ok(Number.isInteger(usage.prompt_tokens) && usage.prompt_tokens > 0, JSON.stringify(usage));
  assert.ok(Number.isInteger(usage.completion_tokens) && usage.completion_tokens >= 0, JSON.stringify(usage));
  assert.ok(usage.completion_tokens <= max_tokens, JSON.stringify(usage));
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens, JSON.stringify(usage));
}

function check_finish(finish_reason, completion_tokens, max_tokens) {
  assert.ok(["length", "stop"].includes(finish_reason), `finish_reason ${finish_reason}`);
  if (finish_reason === "length") assert.equal(completion_tokens, max_tokens);
}

describe("startup", () => {
  test("--api-key and --alias: no key line, the base is listed under its alias", async () => {
    const s = await Server.start(fx.base, ["--api-key", "sk-test-fixed-key-0123456789", "--alias", "mini", "--threads", "1"]);
    try {
      assert.ok(!s.stdout_lines.some((l) => l.includes("API key")), `printed a key line: ${s.stdout_lines}`);
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(s.port > 0);
      const c = s.client(OpenAI);
      const ids = (await c.models.list()).data.map((m) => m.id);
      assert.deepEqual(ids, ["mini"]);
      const r = await c.chat.completions.create({ ...greedy(), model: "mini", max_tokens: 4 });
      assert.equal(typeof r.choices[0].message.content, "string");
      await api_error(c.chat.completions.create({ ...greedy(), model: "base", max_tokens: 4 }), 404, "model_not_found");
    } finally {
      const exit = await s.stop();
      assert.ok(exit.code === 0 || exit.signal === "SIGTERM", `serve exited with ${JSON.stringify(exit)}`);
    }
  });

  test("without a key option it prints a generated key before the address", () => {
    const key_line = server.stdout_lines.findIndex((l) => l.startsWith("officina serve: API key: "));
    const url_line = server.stdout_lines.findIndex((l) => l.startsWith("officina serve: listening on "));
    assert.ok(key_line >= 0 && key_line < url_line, server.stdout_lines.join("\n"));
    assert.ok(server.key.length >= 16, `a short key: ${server.key}`);
  });
});

describe("models and chat", () => {
  test("GET /v1/models lists the base and every adapter", async () => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id).sort();
    assert.deepEqual(ids, ["a1", "a2", "base"]);
    for (const m of list.data) {
      assert.equal(m.object, "model");
      assert.equal(typeof m.owned_by, "string");
      assert.ok(Number.isInteger(m.created) && m.created > 1.6e9, `created ${m.created}`);
    }
  });

  test("GET /health needs no key", async () => {
    const r = await server.request("GET", "/health", undefined, { authorization: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: "ok" });
  });

  test("chat, not streamed: a string reply, usage that adds up, a finish reason", async () => {
    const r = await client.chat.completions.create(greedy());
    assert.equal(r.object, "chat.completion");
    assert.equal(typeof r.id, "string");
    assert.equal(r.model, "base");
    assert.ok(Number.isInteger(r.created));
    assert.equal(r.choices.length, 1);
    const choice = r.choices[0];
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, "assistant");
    assert.equal(typeof choice.message.content, "string");
    check_usage(r.usage, 16);
    assert.ok(r.usage.completion_tokens > 0);
    assert.ok(choice.message.content.length > 0);
    check_finish(choice.finish_reason, r.usage.completion_tokens, 16);
    // The prompt went through the chat template: more tokens than the text alone.
    const text_tokens = await count_tokens(fx.base, kMessages[0].content, { bos: false });
    assert.ok(r.usage.prompt_tokens > text_tokens, `prompt_tokens ${r.usage.prompt_tokens} <= ${text_tokens}`);

    const again = await client.chat.completions.create(greedy());
    assert.equal(again.choices[0].message.content, choice.message.content, "greedy is not repeatable");
    const by_new_name = await client.chat.completions.create(greedy({ max_tokens: undefined, max_completion_tokens: 16 }));
    assert.equal(by_new_name.choices[0].message.content, choice.message.content, "max_completion_tokens != max_tokens");
    const shorter = await client.chat.completions.create(greedy({ max_tokens: 5 }));
    check_usage(shorter.usage, 5);
    assert.ok(choice.message.content.startsWith(shorter.choices[0].message.content), "5 tokens are not a prefix of 16");
  });

  test("streamed chunks concatenate to the non-streamed greedy text", async () => {
    const whole = await client.chat.completions.create(greedy({ max_tokens: 24 }));
    const stream = await client.chat.completions.create(greedy({ max_tokens: 24, stream: true }));
    const got = await collect_chat_stream(stream);
    assert.equal(got.text, whole.choices[0].message.content);
    assert.equal(got.finish_reason, whole.choices[0].finish_reason);
    assert.ok(got.chunks >= 2, `${got.chunks} chunks`);
    assert.deepEqual([...got.objects], ["chat.completion.chunk"]);
    assert.equal(got.ids.size, 1, "chunks of one stream carry different ids");
  });

  test("stream_options.include_usage puts the usage in the last chunk", async () => {
    const whole = await client.chat.completions.create(greedy({ max_tokens: 12 }));
    const stream = await client.chat.completions.create(
        greedy({ max_tokens: 12, stream: true, stream_options: { include_usage: true } }));
    const got = await collect_chat_stream(stream);
    assert.equal(got.text, whole.choices[0].message.content);
    assert.deepEqual(got.usage, whole.usage);
  });

  test("system and assistant turns, content as parts", async () => {
    const r = await client.chat.completions.create({
      model: "base", temperature: 0, max_tokens: 8,
      messages: [
        { role: "system", content: "Sei un assistente di fabbrica." },
        { role: "user", content: [{ type: "text", text: "Stato della pressa 3?" }] },
        { role: "assistant", content: "In funzione." },
        { role: "user", content: "E la pressa 4?" },
      ],
    });
    assert.equal(typeof r.choices[0].message.content, "string");
    check_usage(r.usage, 8);
  });
});

const kMachineSchema = {
  type: "object",
  properties: {
    machine: { type: "string", maxLength: 12 },
    line: { type: "integer" },
    urgent: { type: "boolean" },
    unit: { enum: ["celsius", "kelvin"] },
    tags: { type: "array", items: { type: "string", maxLength: 6 }, maxItems: 2 },
  },
  required: ["machine", "line", "urgent", "unit"],
  additionalProperties: false,
};

const kTools = [
  {
    type: "function",
    function: { name: "get_machine_status", description: "Status of one machine", parameters: kMachineSchema },
  },
  {
    type: "function",
    function: {
      name: "set_speed", description: "Set a line's speed",
      parameters: { type: "object", properties: { speed: { type: "number" } }, required: ["speed"] },
    },
  },
];

function check_tool_call(call, expect_name) {
  assert.equal(call.type, "function");
  assert.equal(typeof call.id, "string");
  assert.ok(call.id.length > 0);
  if (expect_name) assert.equal(call.function.name, expect_name);
  const tool = kTools.find((t) => t.function.name === call.function.name);
  assert.ok(tool, `a call to an unknown tool ${call.function.name}`);
  assert.equal(typeof call.function.arguments, "string");
  let args;
  assert.doesNotThrow(() => { args = JSON.parse(call.function.arguments); }, `arguments: ${call.function.arguments}`);
  assert.deepEqual(json_schema_problems(tool.function.parameters, args), [], call.function.arguments);
  return args;
}

describe("tools and structured output", () => {
  test("a forced tool call comes back as tool_calls with arguments that follow the schema", async () => {
    const request = {
      model: "base", temperature: 0, max_tokens: 200, tools: kTools,
      tool_choice: { type: "function", function: { name: "get_machine_status" } },
      messages: [{ role: "user", content: "Come sta la pressa 3 della linea 2?" }],
    };
    const r = await client.chat.completions.create(request);
    const message = r.choices[0].message;
    assert.ok(Array.isArray(message.tool_calls) && message.tool_calls.length >= 1, JSON.stringify(message));
    assert.ok(["tool_calls", "stop"].includes(r.choices[0].finish_reason), r.choices[0].finish_reason);
    assert.ok(message.content === null || message.content === "", `content beside the call: ${message.content}`);
    check_tool_call(message.tool_calls[0], "get_machine_status");

    // The call and its result go back in; the server takes the round trip.
    const follow = await client.chat.completions.create({
      model: "base", temperature: 0, max_tokens: 8, tools: kTools,
      messages: [
        ...request.messages,
        { role: "assistant", content: null, tool_calls: [message.tool_calls[0]] },
        { role: "tool", tool_call_id: message.tool_calls[0].id, content: "{\"state\": \"running\"}" },
      ],
    });
    assert.equal(typeof (follow.choices[0].message.content ?? ""), "string");
    check_usage(follow.usage, 8);
  });

  test("tool_choice required gives a call to one of the tools", async () => {
    const r = await client.chat.completions.create({
      model: "base", temperature: 0, max_tokens: 200, tools: kTools, tool_choice: "required",
      messages: [{ role: "user", content: "Rallenta la linea 1." }],
    });
    const calls = r.choices[0].message.tool_calls;
    assert.ok(Array.isArray(calls) && calls.length >= 1, JSON.stringify(r.choices[0].message));
    for (const call of calls) check_tool_call(call);
  });

  test("a forced tool call when streamed arrives as tool_calls deltas", async () => {
    const stream = await client.chat.completions.create({
      model: "base", temperature: 0, max_tokens: 200, tools: kTools, stream: true,
      tool_choice: { type: "function", function: { name: "get_machine_status" } },
      messages: [{ role: "user", content: "Come sta la pressa 3 della linea 2?" }],
    });
    const calls = [];
    for await (const chunk of stream) {
      for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
        const c = (calls[d.index ?? 0] ??= { type: "function", id: "", function: { name: "", arguments: "" } });
        if (d.id) c.id = d.id;
        if (d.function?.name) c.function.name += d.function.name;
        if (d.function?.arguments) c.function.arguments += d.function.arguments;
      }
    }
    assert.ok(calls.length >= 1, "no tool_calls deltas");
    check_tool_call(calls[0], "get_machine_status");
  });

  test("response_format json_schema: the reply parses and follows the schema", async () => {
    const r = await client.chat.completions.create({
      model: "base", temperature: 0, max_tokens: 200, messages: [{ role: "user", content: "Descrivi la pressa 3." }],
      response_format: { type: "json_schema", json_schema: { name: "machine", schema: kMachineSchema, strict: true } },
    });
    const content = r.choices[0].message.content;
    assert.equal(r.choices[0].finish_reason, "stop", `cut short: ${content}`);
    let value;
    assert.doesNotThrow(() => { value = JSON.parse(content); }, content);
    assert.deepEqual(json_schema_problems(kMachineSchema, value), [], content);
  });

  test("response_format json_object: the reply is a JSON object (or one cut short by max_tokens)", async () => {
    // Free keys and strings are unbounded, and a random model seldom closes a
    // string, so replies may run to max_tokens: then they must be a prefix of
    // an object. Several seeds, so that structure (not only one string) is seen.
    const states = [];
    for (const seed of [1, 2, 3, 4]) {
      const r = await client.chat.completions.create({
        model: "base", temperature: 1, seed, max_tokens: 48, response_format: { type: "json_object" },
        messages: [{ role: "user", content: "Rispondi in JSON." }],
      });
      const { content } = r.choices[0].message;
      const state = json_prefix_state(content, "object");
      states.push(state);
      if (r.choices[0].finish_reason === "stop") {
        assert.equal(state, "complete", `finished but not a JSON object: ${content}`);
        const value = JSON.parse(content);
        assert.ok(value !== null && typeof value === "object" && !Array.isArray(value), content);
      } else {
        assert.equal(r.choices[0].finish_reason, "length");
        assert.ok(state === "prefix" || state === "complete", `not the start of a JSON object: ${content}`);
      }
    }
  });
});

describe("sampling options", () => {
  test("n=2 with a seed: two different choices, the same again with the same seed", async () => {
    const request = { model: "base", messages: kMessages, max_tokens: 12, temperature: 1, seed: 42, n: 2 };
    const first = await client.chat.completions.create(request);
    assert.equal(first.choices.length, 2);
    assert.deepEqual(first.choices.map((c) => c.index), [0, 1]);
    const texts = first.choices.map((c) => c.message.content);
    assert.notEqual(texts[0], texts[1], "both choices sampled the same text");
    if (first.choices.every((c) => c.finish_reason === "length")) assert.equal(first.usage.completion_tokens, 24);
    check_usage(first.usage, 24);

    const again = await client.chat.completions.create(request);
    assert.deepEqual(again.choices.map((c) => c.message.content), texts, "the same seed sampled differently");
    const other = await client.chat.completions.create({ ...request, seed: 43 });
    assert.notDeepEqual(other.choices.map((c) => c.message.content), texts, "another seed sampled the same texts");
    const nucleus = await client.chat.completions.create({ ...request, top_p: 0.5 });
    assert.equal(nucleus.choices.length, 2);
  });

  test("n=2 streamed: chunks of both choices, same texts as not streamed", async () => {
    const request = { model: "base", messages: kMessages, max_tokens: 10, temperature: 1, seed: 7, n: 2 };
    const whole = await client.chat.completions.create(request);
    const got = await collect_chat_stream(await client.chat.completions.create({ ...request, stream: true }));
    assert.deepEqual(got.texts, whole.choices.map((c) => c.message.content));
  });

  test("stop strings end the reply before the stop text", async () => {
    const free = await client.chat.completions.create(greedy({ max_tokens: 32 }));
    const text = free.choices[0].message.content;
    // A stop string from the middle of the greedy text, of plain characters.
    const chars = [...text];
    let start = Math.floor(chars.length / 2);
    while (start < chars.length - 2 && !/^[\p{L}\p{N}]{2}$/u.test(chars.slice(start, start + 2).join(""))) ++start;
    assert.ok(start < chars.length - 2, `no two letters in a row to stop at in ${JSON.stringify(text)}`);
    const stop = chars.slice(start, start + 2).join("");
    const expect = text.slice(0, text.indexOf(stop));

    const r = await client.chat.completions.create(greedy({ max_tokens: 32, stop: [stop, "NEVER-SEEN-STOP"] }));
    assert.equal(r.choices[0].message.content, expect, `stop ${JSON.stringify(stop)} in ${JSON.stringify(text)}`);
    assert.equal(r.choices[0].finish_reason, "stop");
    const streamed = await collect_chat_stream(
        await client.chat.completions.create(greedy({ max_tokens: 32, stop, stream: true })));
    assert.equal(streamed.text, expect, "the stream let (part of) the stop string out");
    assert.equal(streamed.finish_reason, "stop");
  });

  test("logprobs with top_logprobs", async () => {
    const r = await client.chat.completions.create(greedy({ max_tokens: 8, logprobs: true, top_logprobs: 3 }));
    const content = r.choices[0].logprobs?.content;
    assert.ok(Array.isArray(content), JSON.stringify(r.choices[0].logprobs));
    assert.equal(content.length, r.usage.completion_tokens);
    const pieces = [];
    for (const entry of content) {
      assert.equal(typeof entry.token, "string");
      assert.ok(entry.logprob <= 1e-6, `logprob ${entry.logprob}`);
      assert.equal(entry.top_logprobs.length, 3);
      for (let i = 1; i < 3; ++i) assert.ok(entry.top_logprobs[i - 1].logprob >= entry.top_logprobs[i].logprob);
      const mass = entry.top_logprobs.reduce((s, t) => s + Math.exp(t.logprob), 0);
      assert.ok(mass <= 1 + 1e-4, `top probabilities sum to ${mass}`);
      // Greedy: the chosen token is the most likely one.
      assert.equal(entry.token, entry.top_logprobs[0].token);
      assert.ok(Math.abs(entry.logprob - entry.top_logprobs[0].logprob) < 1e-4);
      pieces.push(Buffer.from(entry.bytes ?? Buffer.from(entry.token)));
    }
    assert.equal(Buffer.concat(pieces).toString("utf8"), r.choices[0].message.content);
  });

  test("/v1/completions: text, usage, stream", async () => {
    const request = { model: "base", prompt: "Once upon a time", max_tokens: 16, temperature: 0 };
    const r = await client.completions.create(request);
    assert.equal(r.object, "text_completion");
    assert.equal(r.choices.length, 1);
    assert.equal(typeof r.choices[0].text, "string");
    check_usage(r.usage, 16);
    check_finish(r.choices[0].finish_reason, r.usage.completion_tokens, 16);
    assert.equal(r.usage.prompt_tokens, await count_tokens(fx.base, request.prompt));
    let streamed = "";
    for await (const chunk of await client.completions.create({ ...request, stream: true })) {
      assert.equal(chunk.object, "text_completion");
      streamed += chunk.choices[0]?.text ?? "";
    }
    assert.equal(streamed, r.choices[0].text);
    const adapted = await client.completions.create({ ...request, model: "a1" });
    assert.notEqual(adapted.choices[0].text, r.choices[0].text, "adapter a1 did not change the completion");
  });
});

describe("embeddings", () => {
  test("normalised vectors of equal size; the same input gives the same vector", async () => {
    const inputs = ["La pressa 3 è ferma.", "Il forno è in manutenzione.", "La pressa 3 è ferma."];
    const r = await client.embeddings.create({ model: "base", input: inputs, encoding_format: "float" });
    assert.equal(r.object, "list");
    assert.equal(r.data.length, 3);
    const dims = r.data[0].embedding.length;
    assert.ok(dims > 0);
    r.data.forEach((d, i) => {
      assert.equal(d.object, "embedding");
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, dims);
      assert.ok(Math.abs(l2_norm(d.embedding) - 1) < 1e-3, `norm ${l2_norm(d.embedding)}`);
    });
    assert.deepEqual(r.data[2].embedding, r.data[0].embedding);
    assert.notDeepEqual(r.data[1].embedding, r.data[0].embedding);
    assert.ok(r.usage.prompt_tokens > 0);

    const one = await client.embeddings.create({ model: "base", input: inputs[0], encoding_format: "float" });
    assert.equal(one.data.length, 1);
    one.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - r.data[0].embedding[i]) < 1e-5, `[${i}]`));
  });

  test("the SDK's default (base64) encoding decodes to the same vector", async () => {
    const input = "La pressa 3 è ferma.";
    const floats = await client.embeddings.create({ model: "base", input, encoding_format: "float" });
    const decoded = await client.embeddings.create({ model: "base", input });  // the SDK asks for base64
    assert.equal(decoded.data[0].embedding.length, floats.data[0].embedding.length);
    decoded.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - floats.data[0].embedding[i]) < 1e-6, `[${i}]`));
  });
});

describe("adapters", () => {
  test("an adapter changes the greedy output; each adapter is repeatable", async () => {
    const text = async (model) => (await client.chat.completions.create(greedy({ model }))).choices[0].message.content;
    const base = await text("base");
    const a1 = await text("a1");
    const a2 = await text("a2");
    assert.notEqual(a1, base, "adapter a1 gave the base text");
    assert.notEqual(a2, base, "adapter a2 gave the base text");
    assert.notEqual(a1, a2, "adapters a1 and a2 gave the same text");
    assert.equal(await text("a1"), a1);
    assert.equal(await text("base"), base, "the base changed after an adapter ran");
  });

  test("POST /v1/adapters loads one at run time, DELETE unloads it", async () => {
    const base_text = (await client.chat.completions.create(greedy())).choices[0].message.content;
    const added = await server.request("POST", "/v1/adapters", { name: "late", path: fx.adapters[2] });
    assert.ok(added.status === 200 || added.status === 201, `POST /v1/adapters: ${added.status} ${added.text}`);
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.ok(ids.includes("late"), `not in /v1/models: ${ids}`);
    const late = await client.chat.completions.create(greedy({ model: "late" }));
    assert.notEqual(late.choices[0].message.content, base_text, "the loaded adapter did not change the output");

    const removed = await server.request("DELETE", "/v1/adapters/late");
    assert.ok(removed.status === 200 || removed.status === 204, `DELETE: ${removed.status} ${removed.text}`);
    await api_error(client.chat.completions.create(greedy({ model: "late" })), 404, "model_not_found");
    assert.ok(!(await client.models.list()).data.some((m) => m.id === "late"));
    assert_error_body(await server.request("DELETE", "/v1/adapters/late"), 404, "DELETE of an unloaded adapter");
  });

  test("adapter loading: bad path, duplicate name, no key", async () => {
    const bad = await server.request("POST", "/v1/adapters", { name: "ghost", path: `${fx.dir}/no-such-adapter` });
    assert.ok(bad.status >= 400 && bad.status < 500, `a missing adapter: ${bad.status} ${bad.text}`);
    assert_error_body(bad, bad.status, "a missing adapter");
    const dup = await server.request("POST", "/v1/adapters", { name: "a1", path: fx.adapters[2] });
    assert.ok(dup.status >= 400 && dup.status < 500, `a duplicate name: ${dup.status} ${dup.text}`);
    assert_error_body(dup, dup.status, "a duplicate name");
    const other = await make_adapter(fx.dir, fx.base, 9);
    const no_key = await server.request("POST", "/v1/adapters", { name: "x", path: other }, { authorization: null });
    assert_error_body(no_key, 401, "POST /v1/adapters without a key");
    assert_error_body(await server.request("DELETE", "/v1/adapters/a1", undefined, { authorization: null }), 401,
                      "DELETE without a key");
    assert.deepEqual((await client.models.list()).data.map((m) => m.id).sort(), ["a1", "a2", "base"]);
  });
});

describe("errors", () => {
  test("unknown model: 404 model_not_found", async () => {
    await api_error(client.chat.completions.create(greedy({ model: "gpt-4o" })), 404, "model_not_found");
    await api_error(client.completions.create({ model: "gpt-4o", prompt: "x", max_tokens: 2 }), 404, "model_not_found");
    await api_error(client.embeddings.create({ model: "gpt-4o", input: "x" }), 404, "model_not_found");
  });

  test("missing or wrong key: 401 (and /metrics needs the key)", async () => {
    const no_key = server.client(OpenAI, { defaultHeaders: { Authorization: null } });
    await api_error(no_key.models.list(), 401);
    await api_error(no_key.chat.completions.create(greedy()), 401);
    const wrong = server.client(OpenAI, { apiKey: `${server.key}x` });
    await api_error(wrong.chat.completions.create(greedy()), 401);
    await api_error(wrong.embeddings.create({ model: "base", input: "x" }), 401);
    assert_error_body(await server.request("GET", "/metrics", undefined, { authorization: null }), 401, "/metrics");
  });

  test("malformed JSON: 400", async () => {
    const r = await server.request("POST", "/v1/chat/completions", "{\"model\": \"base\", \"messages\": [");
    assert_error_body(r, 400, "truncated JSON");
    assert_error_body(await server.request("POST", "/v1/chat/completions", "[1, 2]"), 400, "a JSON array body");
    assert_error_body(await server.request("POST", "/v1/completions", "not json"), 400, "not JSON");
  });

  test("wrong types: 400 naming the field", async () => {
    const e1 = await api_error(client.chat.completions.create({ model: "base", messages: 5 }), 400);
    assert.ok(e1.param === "messages" || e1.message.includes("messages"), e1.message);
    const e2 = await api_error(client.chat.completions.create(greedy({ max_tokens: "x" })), 400);
    assert.ok(e2.param === "max_tokens" || e2.message.includes("max_tokens"), e2.message);
    await api_error(client.chat.completions.create(greedy({ temperature: "hot" })), 400);
    await api_error(client.chat.completions.create(greedy({ n: 0 })), 400);
    await api_error(client.chat.completions.create({ model: "base", messages: [{ role: "user" }] }), 400);
    await api_error(client.chat.completions.create({ model: "base", messages: [] }), 400);
    await api_error(client.embeddings.create({ model: "base", input: 5, encoding_format: "float" }), 400);
    await api_error(client.completions.create({ model: "base", prompt: { text: "x" } }), 400);
  });

  test("body over --max-body: 413", async () => {
    const big = JSON.stringify({ model: "base", messages: [{ role: "user", content: "a".repeat(kMaxBody + 1024) }] });
    assert_error_body(await server.request("POST", "/v1/chat/completions", big), 413, "a body over --max-body");
    // The server still serves after refusing it.
    assert.equal(typeof (await client.chat.completions.create(greedy({ max_tokens: 2 }))).choices[0].message.content,
                 "string");
  });

  test("prompt and max_tokens over the context: 400 context_length_exceeded", async () => {
    const long = "la pressa tre è ferma ".repeat(Math.ceil(kCtx / 3));
    assert.ok(await count_tokens(fx.base, long) > kCtx);
    await api_error(client.chat.completions.create(greedy({ messages: [{ role: "user", content: long }] })), 400,
                    "context_length_exceeded");
    await api_error(client.completions.create({ model: "base", prompt: long, max_tokens: 4 }), 400,
                    "context_length_exceeded");
    await api_error(client.chat.completions.create(greedy({ max_tokens: kCtx * 4 })), 400, "context_length_exceeded");
  });

  test("invalid tool or response schema: 400", async () => {
    const tool = (parameters) => [{ type: "function", function: { name: "f", parameters } }];
    const bad_pattern = { type: "object", properties: { x: { type: "string", pattern: "^a+$" } }, required: ["x"] };
    await api_error(client.chat.completions.create(greedy({ tools: tool(bad_pattern), tool_choice: "required" })), 400);
    await api_error(client.chat.completions.create(greedy({ tools: tool({ type: "bogus" }), tool_choice: "required" })),
                    400);
    await api_error(client.chat.completions.create(greedy({ tools: [{ type: "function", function: { parameters: {} } }] })),
                    400);
    await api_error(client.chat.completions.create(greedy({
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "string", minimum: 3 } } },
    })), 400);
    await api_error(client.chat.completions.create(greedy({
      tools: kTools, tool_choice: { type: "function", function: { name: "no_such_tool" } },
    })), 400);
  });

  test("an unknown route: 404", async () => {
    assert_error_body(await server.request("GET", "/v1/nothing-here"), 404, "GET /v1/nothing-here");
  });
});

// Opens a socket, sends `text` (part of a request) and stalls. Resolves
// {closed_after_ms, received} once the server closes the connection.
function stall(port, text) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    let sent_at = 0;
    socket.on("connect", () => {
      socket.write(text);
      sent_at = Date.now();
    });
    socket.on("data", (d) => { received += d.toString(); });
    socket.on("error", () => {});  // a reset is a close too
    socket.on("close", () => resolve({ closed_after_ms: Date.now() - sent_at, received }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a stalled connection open for 60 s (sent ${JSON.stringify(text)})`));
    }, 60000).unref();
  });
}

describe("queue bound", () => {
  test("requests beyond --max-queue get 429 queue_full; the others finish and the server keeps serving", async () => {
    const busy = await Server.start(fx.base, ["--parallel", "1", "--max-queue", "1", "--threads", "1", "--ctx", "512"]);
    try {
      const c = busy.client(OpenAI);
      const long = { model: "base", messages: kMessages, max_tokens: 120, temperature: 0 };
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => c.chat.completions.create(long)));
      const ok = results.filter((r) => r.status === "fulfilled");
      const refused = results.filter((r) => r.status === "rejected");
      assert.ok(ok.length >= 2, `one running and one queued request finish: ${ok.length}`);
      assert.ok(refused.length >= 1, "at least one request is refused");
      for (const r of refused) {
        assert.ok(r.reason instanceof APIError, `${r.reason}`);
        assert.equal(r.reason.status, 429, r.reason.message);
        assert.equal(r.reason.code, "queue_full");
      }
      const after_busy = await c.chat.completions.create({ ...long, max_tokens: 3 });
      assert.equal(after_busy.usage.completion_tokens <= 3, true);
    } finally {
      await busy.stop();
    }
  });
});

describe("slow clients", () => {
  test("half a request is dropped after --read-timeout; others are served meanwhile", async () => {
    const body = JSON.stringify(greedy({ max_tokens: 2 }));
    const head = (length) => `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
                             `Authorization: Bearer ${server.key}\r\nContent-Type: application/json\r\n` +
                             `Content-Length: ${length}\r\n\r\n`;
    const stalled = [
      stall(server.port, head(body.length) + body.slice(0, 20)),                     // body cut short
      stall(server.port, head(body.length).slice(0, 40)),                            // headers cut short
      stall(server.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n`),  // no blank line
    ];
    await sleep(200);
    // While they stall, requests are served (more of them than --parallel).
    const served = await Promise.all([0, 1, 2, 3].map(() => client.chat.completions.create(greedy({ max_tokens: 4 }))));
    for (const r of served) assert.equal(typeof r.choices[0].message.content, "string");
    const results = await Promise.all(stalled);
    for (const { closed_after_ms, received } of results) {
      // Closed by the read timeout (not at once, not never), answered 408/400 or not at all.
      assert.ok(closed_after_ms >= kReadTimeoutSeconds * 1000 * 0.5, `closed after ${closed_after_ms} ms`);
      assert.ok(closed_after_ms <= kReadTimeoutSeconds * 1000 + 20000, `closed after ${closed_after_ms} ms`);
      assert.ok(received === "" || /^HTTP\/1\.1 (408|400)/.test(received), `answered ${received.slice(0, 80)}`);
    }
    assert.equal(typeof (await client.chat.completions.create(greedy({ max_tokens: 2 }))).choices[0].message.content,
                 "string");
  });
});

describe("metrics", () => {
  // Server bug (reported to the lead): answered chat requests are counted as
  // officina_requests_total{endpoint="/v1/chat/completions",status="-1"}.
  test("/metrics counts what this test did", async () => {
    const s = await Server.start(fx.base, ["--adapter", `a1=${fx.adapters[0]}`, "--threads", "1", "--ctx", "256"]);
    try {
      const c = s.client(OpenAI);
      let prompt = 0;
      let generated = 0;
      const count = (usage) => {
        prompt += usage.prompt_tokens;
        generated += usage.completion_tokens;
      };
      for (const model of ["base", "base", "a1"])
        count((await c.chat.completions.create(greedy({ model, max_tokens: 6 }))).usage);
      for (const max_tokens of [3, 7]) count((await c.completions.create({ model: "a1", prompt: "Ciao", max_tokens })).usage);
      await api_error(c.chat.completions.create(greedy({ model: "nope" })), 404);
      await api_error(s.client(OpenAI, { apiKey: "wrong" }).chat.completions.create(greedy()), 401);
      assert.equal((await s.request("POST", "/v1/chat/completions", "{")).status, 400);

      const m = await s.metrics();
      const names = metric_names(m);
      for (const name of ["officina_requests_total", "officina_prompt_tokens_total", "officina_generated_tokens_total",
                          "officina_queue_length", "officina_active_sequences", "officina_adapters_loaded",
                          "officina_request_seconds_bucket", "officina_request_seconds_sum",
                          "officina_request_seconds_count"])
        assert.ok(names.has(name), `no ${name} in /metrics: ${[...names].join(", ")}`);
      const chat = (e) => typeof e === "string" && e.includes("chat");
      const completions = (e) => typeof e === "string" && e.includes("completions") && !e.includes("chat");
      const requests = (where) => metric_sum(m, "officina_requests_total", where);
      assert.equal(requests({ endpoint: chat, status: "200" }), 3, "chat 200");
      assert.equal(requests({ endpoint: completions, status: "200" }), 2, "completions 200");
      assert.equal(requests({ status: "404" }), 1, "404");
      assert.equal(requests({ status: "401" }), 1, "401");
      assert.equal(requests({ status: "400" }), 1, "400");
      assert.equal(metric_sum(m, "officina_prompt_tokens_total"), prompt);
      assert.equal(metric_sum(m, "officina_generated_tokens_total"), generated);
      assert.equal(metric_sum(m, "officina_queue_length"), 0);
      assert.equal(metric_sum(m, "officina_active_sequences"), 0);
      assert.equal(metric_sum(m, "officina_adapters_loaded"), 1);

      // Histogram: cumulative buckets, +Inf equal to _count, per label set.
      const series = new Map();
      for (const sample of m.filter((x) => x.name.startsWith("officina_request_seconds"))) {
        const { le, ...rest } = sample.labels;
        const key = JSON.stringify(rest);
        const entry = series.get(key) ?? { buckets: [], count: null };
        if (sample.name.endsWith("_bucket")) entry.buckets.push([Number(le === "+Inf" ? Infinity : le), sample.value]);
        if (sample.name.endsWith("_count")) entry.count = sample.value;
        series.set(key, entry);
      }
      let observed = 0;
      for (const [key, { buckets, count }] of series) {
        buckets.sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < buckets.length; ++i) assert.ok(buckets[i][1] >= buckets[i - 1][1], `${key} not cumulative`);
        assert.equal(buckets.at(-1)[0], Infinity, `${key} has no +Inf bucket`);
        assert.equal(buckets.at(-1)[1], count, `${key}: +Inf bucket != _count`);
        observed += count;
      }
      assert.ok(observed >= 5, `the histogram saw ${observed} requests, fewer than the 5 that succeeded`);
    } finally {
      await s.stop();
    }
  });
});
