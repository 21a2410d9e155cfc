// The platform through the official openai SDK, as a tenant would use it:
// the operator onboards a tenant over the operator API, the tenant uploads a
// chat JSONL, fine-tunes the served model, follows the job's events to
// success and chats with fine_tuned_model; another tenant sees none of it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { execFileSync } from "node:child_process";
import {
  Server, conformance_dir, load_openai_or_skip, make_temp_dir, officina_bin, remove_dir, sleep,
} from "../serve/serve_util.mjs";

const { default: OpenAI } = load_openai_or_skip();
const model_path = path.join(conformance_dir(), "models", "tiny-gqa.gguf");

let dir, data_dir, server, operator_key;

function chat_jsonl(n) {
  let out = "";
  for (let i = 0; i < n; ++i) {
    out += JSON.stringify({ messages: [
      { role: "system", content: "Sei il gemello digitale della linea 2." },
      { role: "user", content: `Qual è la temperatura del forno ${i}?` },
      { role: "assistant", content: `Il forno ${i} è a ${800 + i} gradi.` },
    ] }) + "\n";
  }
  return out;
}

// Onboards an organisation with one project, an allocation and an owner key.
async function onboard(name) {
  const op = (method, route, body) => server.request(method, route, body, { authorization: `Bearer ${operator_key}` });
  const org = await op("POST", "/v1/organizations", { name, kind: "startup" });
  assert.equal(org.status, 201, org.text);
  const project = await op("POST", `/v1/organizations/${org.json.id}/projects`, { name: `${name}-twin` });
  assert.equal(project.status, 201, project.text);
  const now = Math.floor(Date.now() / 1000);
  const allocation = await op("POST", `/v1/projects/${project.json.id}/allocations`,
                              { tier: "playground", core_hours: 20, starts_at: now - 60, ends_at: now + 60 * 86400 });
  assert.equal(allocation.status, 201, allocation.text);
  const key = await op("POST", `/v1/projects/${project.json.id}/api_keys`, { role: "owner" });
  assert.equal(key.status, 201, key.text);
  return { project: project.json.id, key: key.json.key };
}

before(async () => {
  dir = make_temp_dir("platform-sdk");
  data_dir = path.join(dir, "data");
  const init = execFileSync(officina_bin(), ["admin", "init", "--data-dir", data_dir]).toString().trim().split("\n");
  operator_key = init[init.length - 1];
  server = await Server.start(model_path, ["--data-dir", data_dir, "--parallel", "2", "-t", "1", "--job-cores", "1"]);
  server.key = operator_key;
});

after(async () => {
  if (server) await server.stop();
  remove_dir(dir);
});

test("a tenant fine-tunes the served model and chats with the result", { timeout: 300000 }, async () => {
  const alpha = await onboard("Acciaierie Alfa");
  const client = new OpenAI({ apiKey: alpha.key, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 120000 });
  const train_path = path.join(dir, "train.jsonl");
  fs.writeFileSync(train_path, chat_jsonl(12));
  const file = await client.files.create({ file: fs.createReadStream(train_path), purpose: "fine-tune" });
  assert.equal(file.object, "file");
  assert.equal(file.status, "processed");
  assert.equal(file.bytes, fs.statSync(train_path).size);
  assert.equal(file.statistics.samples, 12);

  let job = await client.fineTuning.jobs.create({
    model: "tiny-gqa", training_file: file.id, suffix: "forno",
    method: { type: "supervised", supervised: { hyperparameters: { n_epochs: 3, batch_size: 4, learning_rate_multiplier: 10 } } },
  });
  assert.equal(job.object, "fine_tuning.job");
  assert.ok(["validating_files", "queued", "running"].includes(job.status), job.status);
  assert.equal(job.hyperparameters.n_epochs, 3);

  // Follow the events until the job ends.
  const seen = new Map();
  const deadline = Date.now() + 240000;
  while (Date.now() < deadline) {
    for await (const e of client.fineTuning.jobs.listEvents(job.id, { limit: 100 })) seen.set(e.id, e);
    job = await client.fineTuning.jobs.retrieve(job.id);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) break;
    await sleep(200);
  }
  for await (const e of client.fineTuning.jobs.listEvents(job.id, { limit: 100 })) seen.set(e.id, e);
  assert.equal(job.status, "succeeded", JSON.stringify(job.error));
  assert.equal(job.fine_tuned_model, `ft:tiny-gqa:forno:${job.id}`);
  assert.ok(job.trained_tokens > 0);
  const messages = [...seen.values()].map((e) => e.message);
  assert.ok(messages.some((m) => m.startsWith("Step 1: training loss=")), messages.join("\n"));
  assert.ok(messages.includes("The job has successfully completed"), messages.join("\n"));
  const metrics = [...seen.values()].filter((e) => e.type === "metrics");
  assert.ok(metrics.length >= 3 && metrics.every((e) => typeof e.data.train_loss === "number"));
  const checkpoints = [];
  for await (const c of client.fineTuning.jobs.checkpoints.list(job.id)) checkpoints.push(c);
  assert.ok(checkpoints.length >= 1);
  assert.equal(checkpoints[0].fine_tuning_job_id, job.id);

  // The fine-tuned model answers at once, for its project.
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  assert.ok(models.includes(job.fine_tuned_model), models.join(","));
  const chat = await client.chat.completions.create({
    model: job.fine_tuned_model, max_tokens: 8, temperature: 0, logprobs: true,
    messages: [{ role: "user", content: "Qual è la temperatura del forno 3?" }],
  });
  assert.equal(chat.model, job.fine_tuned_model);
  assert.equal(chat.choices[0].finish_reason, "length");
  assert.ok(chat.choices[0].message.content.length > 0);
  // ... and is not the base model: the adapter moves the probabilities.
  const base = await client.chat.completions.create({
    model: "tiny-gqa", max_tokens: 8, temperature: 0, logprobs: true,
    messages: [{ role: "user", content: "Qual è la temperatura del forno 3?" }],
  });
  const first = (c) => c.choices[0].logprobs.content[0].logprob;
  assert.ok(Math.abs(first(base) - first(chat)) > 1e-4, `${first(base)} vs ${first(chat)}`);

  // Another tenant sees none of it.
  const beta = await onboard("Beta Lab");
  const other = new OpenAI({ apiKey: beta.key, baseURL: `${server.url}/v1`, maxRetries: 0 });
  const their_models = [];
  for await (const m of other.models.list()) their_models.push(m.id);
  assert.ok(!their_models.includes(job.fine_tuned_model));
  await assert.rejects(other.chat.completions.create({ model: job.fine_tuned_model, messages: [{ role: "user", content: "x" }] }),
                       (e) => e.status === 404);
  await assert.rejects(other.fineTuning.jobs.retrieve(job.id), (e) => e.status === 404);
  await assert.rejects(other.files.retrieve(file.id), (e) => e.status === 404);
  await assert.rejects(other.files.content(file.id), (e) => e.status === 404);
  await assert.rejects(other.models.delete(job.fine_tuned_model), (e) => e.status === 404);

  // The owner exports the project's data as a tar; nobody else can.
  const exported = await fetch(`${server.url}/v1/projects/${alpha.project}/export`,
                               { headers: { authorization: `Bearer ${alpha.key}` } });
  assert.equal(exported.status, 200);
  assert.equal(exported.headers.get("content-type"), "application/x-tar");
  const tar = Buffer.from(await exported.arrayBuffer());
  assert.ok(tar.length % 512 === 0 && tar.length > 4096);
  assert.ok(tar.includes(Buffer.from(`files/${file.id}/train.jsonl`)));
  assert.ok(tar.includes(Buffer.from("Il forno 3 è a 803 gradi.")));
  const refused = await fetch(`${server.url}/v1/projects/${alpha.project}/export`,
                              { headers: { authorization: `Bearer ${beta.key}` } });
  assert.equal(refused.status, 404);

  // Deleting the model takes it out of service.
  const deleted = await client.models.delete(job.fine_tuned_model);
  assert.equal(deleted.deleted, true);
  await assert.rejects(client.chat.completions.create({ model: job.fine_tuned_model, messages: [{ role: "user", content: "x" }] }),
                       (e) => e.status === 404);
});

test("bad uploads and job requests get OpenAI-shaped errors", { timeout: 120000 }, async () => {
  const gamma = await onboard("Gamma");
  const client = new OpenAI({ apiKey: gamma.key, baseURL: `${server.url}/v1`, maxRetries: 0 });
  const bad_path = path.join(dir, "bad.jsonl");
  fs.writeFileSync(bad_path, chat_jsonl(2) + '{"messages": [{"role": "robot", "content": "x"}]}\n');
  await assert.rejects(client.files.create({ file: fs.createReadStream(bad_path), purpose: "fine-tune" }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.message, /line 3/);
    return true;
  });
  const good_path = path.join(dir, "good.jsonl");
  fs.writeFileSync(good_path, chat_jsonl(3));
  await assert.rejects(client.files.create({ file: fs.createReadStream(good_path), purpose: "assistants" }),
                       (e) => e.status === 400 && e.param === "purpose");
  const file = await client.files.create({ file: fs.createReadStream(good_path), purpose: "fine-tune" });
  await assert.rejects(client.fineTuning.jobs.create({ model: "gpt-4o-mini", training_file: file.id }),
                       (e) => e.status === 404 && e.code === "model_not_found");
  await assert.rejects(client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                      hyperparameters: { n_epochs: 1000 } }),
                       (e) => e.status === 400 && e.param === "hyperparameters.n_epochs");
  await assert.rejects(client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: "file-missing" }),
                       (e) => e.status === 400 && e.param === "training_file");
  // A project whose allocation is spent cannot start more.
  const op = (method, route, body) => server.request(method, route, body, { authorization: `Bearer ${operator_key}` });
  const org = await op("POST", "/v1/organizations", { name: "Senza budget", kind: "sme" });
  const project = await op("POST", `/v1/organizations/${org.json.id}/projects`, { name: "p" });
  const key = await op("POST", `/v1/projects/${project.json.id}/api_keys`, { role: "member" });
  const poor = new OpenAI({ apiKey: key.json.key, baseURL: `${server.url}/v1`, maxRetries: 0 });
  const poor_file = await poor.files.create({ file: fs.createReadStream(good_path), purpose: "fine-tune" });
  await assert.rejects(poor.fineTuning.jobs.create({ model: "tiny-gqa", training_file: poor_file.id }),
                       (e) => e.status === 429 && e.code === "insufficient_quota");
  // Uploads may be larger than --max-body (4 MiB); other routes may not.
  const big_path = path.join(dir, "big.jsonl");
  fs.writeFileSync(big_path, chat_jsonl(1).repeat(40000));
  const big = await client.files.create({ file: fs.createReadStream(big_path), purpose: "fine-tune" });
  assert.equal(big.bytes, fs.statSync(big_path).size);
  assert.ok(big.bytes > 4 << 20);
  await assert.rejects(client.chat.completions.create({ model: "tiny-gqa", max_tokens: 1,
                                                        messages: [{ role: "user", content: "x".repeat(5 << 20) }] }),
                       (e) => e.status === 413);
  // An upload announcing more than the limit is refused before it is read.
  const status = await new Promise((resolve, reject) => {
    const req = http.request(`${server.url}/v1/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${gamma.key}`, "content-type": "multipart/form-data; boundary=b",
                 "content-length": String(2 ** 40) },
    }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on("error", reject);
    req.write("--b\r\n");
  });
  assert.equal(status, 413);
});
