// The platform's Slurm executor against a real single-node Slurm cluster
// (../shared/scripts/start-slurm.sh, which scripts/run-tests.sh starts when it
// runs as root): fine-tuning jobs created through the OpenAI API with the
// official SDK run under sbatch/srun, including the MPI data-parallel path;
// cancel; a failure with Slurm's reason; TIMEOUT, requeue and resume from
// the checkpoint; a server killed during a job and reconciled after its
// restart; slurmctld down for a while; sbatch missing or refusing.
// Skipped (exit 77) when no cluster answers, unless OFFICINA_REQUIRE_SLURM=1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import {
  Server, conformance_dir, kSkipExitCode, load_openai_or_skip, make_temp_dir, officina_bin, remove_dir, sleep,
} from "../serve/serve_util.mjs";

function slurm_up() {
  const ping = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8" });
  return ping.status === 0 && /idle|mix|alloc/.test(ping.stdout);
}
if (!slurm_up()) {
  if (process.env.OFFICINA_REQUIRE_SLURM === "1") throw new Error("no Slurm cluster answers (sinfo)");
  console.log("skipped: no Slurm cluster (start one with ../shared/scripts/start-slurm.sh as root)");
  process.exit(kSkipExitCode);
}

const { default: OpenAI } = load_openai_or_skip();
const model_path = path.join(conformance_dir(), "models", "tiny-gqa.gguf");
let dir, data_dir, jobs_dir, tenant_key, project_id;

function chat_jsonl(n) {
  let out = "";
  for (let i = 0; i < n; ++i) {
    out += JSON.stringify({ messages: [
      { role: "user", content: `Stato della pressa numero ${i} nella linea di assemblaggio?` },
      { role: "assistant", content: `La pressa ${i} va a ${50 + i} colpi al minuto, olio a ${40 + (i % 7)} gradi, nessun allarme.` },
    ] }) + "\n";
  }
  return out;
}

function admin(...args) {
  return execFileSync(officina_bin(), ["admin", ...args, "--data-dir", data_dir]).toString();
}

async function start_server(extra = [], partition = "debug") {
  const server = await Server.start(model_path, [
    "--data-dir", data_dir, "-t", "1", "--job-cores", "1", "--executor", "slurm", "--slurm-partition", partition,
    "--slurm-workdir", jobs_dir, "--slurm-poll", "0.5", "--slurm-max-requeue", "8", "--slurm-account-prefix", "ofc_",
    ...extra]);
  server.key = tenant_key;
  server.client = new OpenAI({ apiKey: tenant_key, baseURL: `${server.url}/v1`, maxRetries: 0 });
  return server;
}

async function upload(client, lines, name) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, chat_jsonl(lines));
  return client.files.create({ file: fs.createReadStream(file), purpose: "fine-tune" });
}

async function events(client, id) {
  const out = [];
  for await (const e of client.fineTuning.jobs.listEvents(id, { limit: 1000 })) out.push(e.message);
  return out.reverse();
}

async function wait_job(client, id, done, ms = 240000) {
  const deadline = Date.now() + ms;
  let job;
  while (Date.now() < deadline) {
    job = await client.fineTuning.jobs.retrieve(id);
    if (done(job)) return job;
    await sleep(250);
  }
  throw new Error(`job ${id} stuck in ${job?.status}: ${(await events(client, id)).join("\n")}`);
}
const ended = (j) => ["succeeded", "failed", "cancelled"].includes(j.status);

async function wait_event(client, id, pattern, ms = 120000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = (await events(client, id)).find((m) => pattern.test(m));
    if (found) return found;
    await sleep(250);
  }
  throw new Error(`no event ${pattern} for ${id}: ${(await events(client, id)).join("\n")}`);
}

function slurm_id(messages) {
  const submitted = messages.filter((m) => /^Submitted to Slurm as job \d+/.test(m));
  assert.ok(submitted.length > 0, messages.join("\n"));
  return submitted.map((m) => Number(m.match(/job (\d+)/)[1]));
}

function slurm_state(id) {
  const out = spawnSync("scontrol", ["show", "job", "-o", String(id)], { encoding: "utf8" }).stdout ?? "";
  return out.match(/JobState=(\S+)/)?.[1];
}

function job_dir(job) { return path.join(jobs_dir, project_id, job.id); }

before(() => {
  dir = make_temp_dir("platform-slurm");
  data_dir = path.join(dir, "data");
  jobs_dir = path.join(dir, "shared", "jobs");
  const init = admin("init").trim().split("\n");
  assert.ok(init.length > 0);
  const org = JSON.parse(admin("org", "create", "Officine Slurm Spa", "--kind", "sme"));
  const project = JSON.parse(admin("project", "create", org.id, "hpc"));
  project_id = project.id;
  admin("allocation", "create", project.id, "--tier", "playground", "--core-hours", "100", "--days", "60");
  const key = admin("key", "create", project.id, "--role", "owner").trim().split("\n");
  tenant_key = key[key.length - 1];
});

after(() => remove_dir(dir));

test("a job runs under Slurm to success, is charged by Slurm's accounting, and its adapter is served",
     { timeout: 300000 }, async () => {
  const server = await start_server();
  try {
    const { client } = server;
    const file = await upload(client, 40, "small.jsonl");
    let job = await client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                    hyperparameters: { n_epochs: 2 } });
    assert.equal(job.status, "queued");
    job = await wait_job(client, job.id, ended);
    assert.equal(job.status, "succeeded", JSON.stringify(job.error));
    const messages = await events(client, job.id);
    const [id] = slurm_id(messages);
    assert.ok(messages.some((m) => m === `Slurm job ${id} is running on ${execFileSync("hostname", ["-s"]).toString().trim()}`),
              messages.join("\n"));
    const script = fs.readFileSync(path.join(job_dir(job), "job.sbatch"), "utf8");
    assert.match(script, new RegExp(`--account=ofc_${project_id}\\n`));
    assert.match(script, /--job-name=officina-ftjob-/);
    assert.equal(fs.statSync(job_dir(job)).mode & 0o777, 0o700);
    assert.ok(!fs.existsSync(path.join(job_dir(job), "data")), "decrypted data outlived the job");
    assert.ok(job.charged_core_hours > 0);
    const usage = JSON.parse(admin("usage", project_id));
    assert.ok(usage.allocations[0].used_core_hours >= job.charged_core_hours - 1e-9);
    const chat = await client.chat.completions.create({ model: job.fine_tuned_model, max_tokens: 3,
                                                        messages: [{ role: "user", content: "pressa 3?" }] });
    assert.equal(chat.model, job.fine_tuned_model);
  } finally {
    await server.stop();
  }
});

test("a 2-task job runs the MPI data-parallel path under srun", { timeout: 300000 }, async () => {
  const server = await start_server();
  try {
    const { client } = server;
    const file = await upload(client, 40, "mpi.jsonl");
    let job = await client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                    hyperparameters: { n_epochs: 2 },
                                                    resources: { tasks_per_node: 2 } });
    assert.equal(job.resources.tasks_per_node, 2);
    job = await wait_job(client, job.id, ended);
    assert.equal(job.status, "succeeded", JSON.stringify(job.error));
    const log = fs.readFileSync(path.join(job_dir(job), "log.txt"), "utf8");
    assert.match(log, /on 2 ranks/, log);
    assert.match(fs.readFileSync(path.join(job_dir(job), "job.sbatch"), "utf8"), /srun --kill-on-bad-exit=1 --mpi=pmix /);
    // Three tasks exceed the playground tier.
    await assert.rejects(client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                         resources: { tasks_per_node: 3 } }),
                         (e) => e.status === 400 && /at most 2 task/.test(e.message));
  } finally {
    await server.stop();
  }
});

test("cancel through the API cancels the Slurm job", { timeout: 300000 }, async () => {
  const server = await start_server();
  try {
    const { client } = server;
    const file = await upload(client, 200, "cancel.jsonl");
    let job = await client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                    hyperparameters: { n_epochs: 30 } });
    job = await wait_job(client, job.id, (j) => j.status === "running" || ended(j));
    assert.equal(job.status, "running");
    const [id] = slurm_id(await events(client, job.id));
    job = await client.fineTuning.jobs.cancel(job.id);
    assert.equal(job.status, "cancelled");
    const deadline = Date.now() + 60000;
    while (!["CANCELLED", undefined].includes(slurm_state(id)) && Date.now() < deadline) await sleep(250);
    assert.equal(slurm_state(id), "CANCELLED");
    assert.ok(!fs.existsSync(path.join(job_dir(job), "data")));
  } finally {
    await server.stop();
  }
});

test("a job that fails under Slurm fails with Slurm's reason; a pending job says why it waits",
     { timeout: 300000 }, async () => {
  const server = await start_server();
  // Hold every CPU of the node, so that the job stays pending.
  const cpus = execFileSync("sinfo", ["-h", "-o", "%c"]).toString().trim().split("\n")[0];
  const blocker = execFileSync("sbatch", ["--parsable", "-p", "debug", "-c", cpus, "--mem=64M", "-o", "/dev/null",
                                          "--wrap", "sleep 300"]).toString().trim();
  try {
    const { client } = server;
    const file = await upload(client, 20, "fail.jsonl");
    let job = await client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id });
    await wait_event(client, job.id, /^Slurm job \d+ is pending \(reason: (Resources|Priority)\)/);
    job = await client.fineTuning.jobs.retrieve(job.id);
    assert.equal(job.status, "queued");
    // Its data vanishes while it waits: the trainer fails on the node.
    fs.rmSync(path.join(job_dir(job), "data", "train.jsonl"));
    execFileSync("scancel", [blocker]);
    job = await wait_job(client, job.id, ended);
    assert.equal(job.status, "failed");
    assert.match(job.error.message, /^Slurm job \d+ ended FAILED \(exit code 1\), reason NonZeroExitCode/, job.error.message);
  } finally {
    spawnSync("scancel", [blocker]);
    await server.stop();
  }
});

test("a job past its time limit (TIMEOUT) is requeued and resumes from its checkpoint to success",
     { timeout: 900000 }, async () => {
  const server = await start_server();
  try {
    const { client } = server;
    const file = await upload(client, 200, "timeout.jsonl");
    let job = await client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                    hyperparameters: { n_epochs: 30, batch_size: 4 },
                                                    resources: { time_limit_minutes: 1 } });
    job = await wait_job(client, job.id, ended, 840000);
    const messages = await events(client, job.id);
    assert.equal(job.status, "succeeded", JSON.stringify(job.error) + "\n" + messages.join("\n"));
    assert.ok(job.requeues >= 1, messages.join("\n"));
    assert.ok(messages.some((m) => /reached its time limit \(TIMEOUT\); requeued \(1 of 8\), resuming from its checkpoint at step \d+/.test(m)),
              messages.join("\n"));
    assert.ok(messages.some((m) => /^Submitted to Slurm as job \d+: .*, resuming from step \d+/.test(m)), messages.join("\n"));
    assert.equal(new Set(slurm_id(messages)).size, job.requeues + 1);
  } finally {
    await server.stop();
  }
});

test("a server killed during a job adopts the Slurm job after its restart: no orphan, no duplicate",
     { timeout: 400000 }, async () => {
  let server = await start_server();
  let job;
  try {
    const file = await upload(server.client, 200, "restart.jsonl");
    job = await server.client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                       hyperparameters: { n_epochs: 4 } });
    await wait_job(server.client, job.id, (j) => j.status === "running" || ended(j));
  } finally {
    process.kill(server.pid, "SIGKILL");
    await server.exited;
  }
  await sleep(1500);
  server = await start_server();
  try {
    const { client } = server;
    job = await wait_job(client, job.id, ended);
    const messages = await events(client, job.id);
    assert.equal(job.status, "succeeded", JSON.stringify(job.error) + "\n" + messages.join("\n"));
    const ids = slurm_id(messages);
    assert.equal(ids.length, 1, "submitted twice:\n" + messages.join("\n"));
    assert.ok(messages.includes(`The server restarted; it follows Slurm job ${ids[0]} again`), messages.join("\n"));
    const named = spawnSync("sacct", ["-c", "-n", "-P", "-o", "JobID,JobName"], { encoding: "utf8" }).stdout
      .split("\n").filter((l) => l.endsWith(`|officina-${job.id}`));
    assert.equal(named.length, 1, named.join("\n"));
    // Each Step event once, though the server died in the middle.
    const steps = messages.filter((m) => m.startsWith("Step ")).map((m) => m.split(":")[0]);
    assert.equal(new Set(steps).size, steps.length);
  } finally {
    await server.stop();
  }
});

test("slurmctld down for a while: the job keeps its state and polling recovers", { timeout: 400000 }, async () => {
  const server = await start_server();
  const pid_file = "/run/officina-slurm/slurmctld.pid";
  try {
    const { client } = server;
    const file = await upload(client, 200, "ctld.jsonl");
    let job = await client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id,
                                                    hyperparameters: { n_epochs: 4 } });
    job = await wait_job(client, job.id, (j) => j.status === "running" || ended(j));
    assert.equal(job.status, "running");
    // Until srun has created its step the batch script still needs the
    // controller (srun fails at once without it, as on any cluster): wait for
    // the trainer's first step.
    await wait_event(client, job.id, /^Step \d+/);
    process.kill(Number(fs.readFileSync(pid_file, "utf8").trim()), "SIGTERM");
    await wait_event(client, job.id, /^Slurm does not answer/, 60000);
    job = await client.fineTuning.jobs.retrieve(job.id);
    assert.equal(job.status, "running");
    await sleep(3000);
  } finally {
    const start = process.env.OFFICINA_SLURM_START;
    if (start) execFileSync("bash", [start], { stdio: "ignore" });
    else execFileSync("/usr/sbin/slurmctld", ["-i"]);
  }
  try {
    const { client } = server;
    const jobs = [];
    for await (const j of client.fineTuning.jobs.list()) jobs.push(j);
    const job = await wait_job(client, jobs[0].id, ended, 300000);
    const messages = await events(client, job.id);
    assert.equal(job.status, "succeeded", JSON.stringify(job.error) + "\n" + messages.join("\n"));
    assert.ok(messages.includes("Slurm answers again"), messages.join("\n"));
  } finally {
    await server.stop();
  }
});

test("sbatch missing or refusing fails the job with the reason", { timeout: 120000 }, async () => {
  for (const [extra, partition, reason] of [
    [["--slurm-bin", path.join(dir, "no-slurm-here")], "debug", /sbatch could not run: .*No such file/],
    [[], "nope", /sbatch refused the job \(exit code 1\): .*Invalid partition/]]) {
    const server = await start_server(extra, partition);
    try {
      const { client } = server;
      const file = await upload(client, 5, "refused.jsonl");
      let job = await client.fineTuning.jobs.create({ model: "tiny-gqa", training_file: file.id });
      job = await wait_job(client, job.id, ended, 60000);
      assert.equal(job.status, "failed");
      assert.match(job.error.message, reason, job.error.message);
      assert.equal(job.error.code, "launch_failed");
    } finally {
      await server.stop();
    }
  }
});
