// kill -9 of the server at the worst moments: in the middle of an upload (no
// partial file may ever be visible, and the remains are cleaned at restart)
// and while a fine-tuning job runs (it resumes from its checkpoint, or fails
// with a reason; the store stays intact and the audit chain verifies).
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

let dir, data_dir, operator_key, tenant_key;

function chat_jsonl(n) {
  let out = "";
  for (let i = 0; i < n; ++i) {
    out += JSON.stringify({ messages: [
      { role: "user", content: `Stato della pressa ${i}?` },
      { role: "assistant", content: `La pressa ${i} è in marcia a ${50 + i} colpi al minuto.` },
    ] }) + "\n";
  }
  return out;
}

async function start_server() {
  const server = await Server.start(model_path, ["--data-dir", data_dir, "-t", "1", "--job-cores", "1"]);
  server.key = tenant_key ?? operator_key;
  return server;
}

function files_on_disk() {
  const root = path.join(data_dir, "files");
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { recursive: true }).filter((f) => fs.statSync(path.join(root, f)).isFile());
}

function admin(...args) {
  return execFileSync(officina_bin(), ["admin", ...args, "--data-dir", data_dir]).toString();
}

before(async () => {
  dir = make_temp_dir("platform-crash");
  data_dir = path.join(dir, "data");
  const init = admin("init").trim().split("\n");
  operator_key = init[init.length - 1];
  const org = JSON.parse(admin("org", "create", "Crash Test Srl", "--kind", "sme"));
  const project = JSON.parse(admin("project", "create", org.id, "p"));
  admin("allocation", "create", project.id, "--tier", "playground", "--core-hours", "50", "--days", "60");
  const key = admin("key", "create", project.id, "--role", "owner").trim().split("\n");
  tenant_key = key[key.length - 1];
});

after(() => remove_dir(dir));

test("kill -9 during an upload leaves no visible file", { timeout: 120000 }, async () => {
  let server = await start_server();
  // Half a multipart upload, then the server dies.
  const body_head = "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n" +
                    "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jsonl\"\r\n" +
                    "Content-Type: application/jsonl\r\n\r\n";
  const data = chat_jsonl(3000);
  const req = http.request(`${server.url}/v1/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${tenant_key}`, "content-type": "multipart/form-data; boundary=b",
               "content-length": String(body_head.length + data.length + 10) },
  });
  req.on("error", () => {});
  req.write(body_head);
  req.write(data.slice(0, data.length / 2));
  // Wait until the server has started writing the encrypted file.
  const deadline = Date.now() + 20000;
  while (files_on_disk().length === 0 && Date.now() < deadline) await sleep(20);
  assert.ok(files_on_disk().length > 0, "the upload never reached the disk");
  process.kill(server.pid, "SIGKILL");
  await server.exited;
  req.destroy();

  server = await start_server();
  try {
    const client = new OpenAI({ apiKey: tenant_key, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const files = [];
    for await (const f of client.files.list()) files.push(f);
    assert.equal(files.length, 0);
    assert.deepEqual(files_on_disk(), [], "the half-written file was not cleaned up");
    // The instance works on.
    const train = path.join(dir, "train.jsonl");
    fs.writeFileSync(train, chat_jsonl(4));
    const file = await client.files.create({ file: fs.createReadStream(train), purpose: "fine-tune" });
    assert.equal(file.status, "processed");
  } finally {
    await server.stop();
  }
  assert.match(admin("audit", "verify"), /"ok": true/);
});

test("kill -9 during a fine-tuning job: the job resumes from its checkpoint", { timeout: 300000 }, async () => {
  let server = await start_server();
  let client = new OpenAI({ apiKey: tenant_key, baseURL: `${server.url}/v1`, maxRetries: 0 });
  const train = path.join(dir, "long.jsonl");
  fs.writeFileSync(train, chat_jsonl(60));
  const file = await client.files.create({ file: fs.createReadStream(train), purpose: "fine-tune" });
  let job = await client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                  hyperparameters: { n_epochs: 4, batch_size: 2 } });
  // Wait for a checkpoint, then kill the server (its training child dies with it).
  let deadline = Date.now() + 120000;
  let checkpoints = [];
  while (Date.now() < deadline) {
    checkpoints = [];
    for await (const c of client.fineTuning.jobs.checkpoints.list(job.id)) checkpoints.push(c);
    if (checkpoints.length >= 2) break;
    await sleep(50);
  }
  assert.ok(checkpoints.length >= 2, "no checkpoint in time");
  job = await client.fineTuning.jobs.retrieve(job.id);
  assert.equal(job.status, "running");
  process.kill(server.pid, "SIGKILL");
  await server.exited;

  server = await start_server();
  try {
    client = new OpenAI({ apiKey: tenant_key, baseURL: `${server.url}/v1`, maxRetries: 0 });
    deadline = Date.now() + 240000;
    while (Date.now() < deadline) {
      job = await client.fineTuning.jobs.retrieve(job.id);
      if (["succeeded", "failed", "cancelled"].includes(job.status)) break;
      await sleep(200);
    }
    assert.equal(job.status, "succeeded", JSON.stringify(job.error));
    assert.equal(job.attempts, 2);
    const messages = [];
    for await (const e of client.fineTuning.jobs.listEvents(job.id, { limit: 1000 })) messages.push(e.message);
    assert.ok(messages.some((m) => m.startsWith("The server restarted while the job ran; it resumes from its checkpoint")),
              messages.join("\n"));
    assert.ok(messages.some((m) => m.startsWith("Fine-tuning job resumed from step")), messages.join("\n"));
    const chat = await client.chat.completions.create({ model: job.fine_tuned_model, max_tokens: 3,
                                                        messages: [{ role: "user", content: "pressa 4?" }] });
    assert.equal(chat.model, job.fine_tuned_model);
  } finally {
    await server.stop();
  }
  // The store is intact: the audit chain verifies and usage was charged.
  assert.match(admin("audit", "verify"), /"ok": true/);
});
