// Shared pieces of the server integration tests (node:test files in this
// folder, run by ctest as `node FILE.test.mjs`): making the fixtures (a random
// model and random LoRA adapters, written by the officina binary itself),
// starting `officina serve` on a free loopback port and stopping it, the
// official openai SDK, raw HTTP, and reading /metrics and the server's RSS.
//
// Environment (ctest sets the first three, see tests/CMakeLists.txt):
//   OFFICINA_BIN             the officina binary
//   OFFICINA_NODE_MODULES    node_modules holding the pinned `openai` package
//                            (scripts/fetch-test-npm.sh installs it)
//   OFFICINA_CONFORMANCE_DIR the conformance data (models/tiny-gqa.gguf gives
//                            the vocabulary); OFFICINA_DEFAULT_CONFORMANCE_DIR
//                            is the fallback when it is unset
// Names follow the project's convention (snake_case functions and variables).
import { spawn, execFile } from "node:child_process";
import { createRequire } from "node:module";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

const exec_file = promisify(execFile);
const here = path.dirname(new URL(import.meta.url).pathname);
const source_dir = path.resolve(here, "..", "..");

export const kSkipExitCode = 77;  // ctest's SKIP_RETURN_CODE for these tests

export function officina_bin() {
  return process.env.OFFICINA_BIN || path.join(source_dir, "build", "src", "cli", "officina");
}

export function conformance_dir() {
  return process.env.OFFICINA_CONFORMANCE_DIR || process.env.OFFICINA_DEFAULT_CONFORMANCE_DIR ||
         path.resolve(source_dir, "..", "shared", "conformance");
}

export function node_modules_dir() {
  return process.env.OFFICINA_NODE_MODULES || path.join(source_dir, "build", "test-data", "node_modules");
}

// The official SDK, loaded through require from OFFICINA_NODE_MODULES (an ESM
// import would not look there: node resolves bare ESM specifiers only from
// node_modules folders above the importing file, and ignores NODE_PATH).
// Exits the process with kSkipExitCode, before any test is declared, when the
// package or the fixtures' inputs are missing, saying what to run.
export function load_openai_or_skip() {
  const modules = node_modules_dir();
  let sdk;
  try {
    sdk = createRequire(path.join(modules, "_resolve_from_here.js"))("openai");
  } catch (e) {
    console.error(`serve tests: the openai package is not in ${modules} (${e.code ?? e.message}); ` +
                  "run scripts/fetch-test-npm.sh or set OFFICINA_NODE_MODULES");
    process.exit(kSkipExitCode);
  }
  const vocab = path.join(conformance_dir(), "models", "tiny-gqa.gguf");
  if (!fs.existsSync(vocab)) {
    console.error(`serve tests: ${vocab} not found; set OFFICINA_CONFORMANCE_DIR`);
    process.exit(kSkipExitCode);
  }
  return sdk;
}

export function make_temp_dir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `officina-serve-${tag}-`));
}

export function remove_dir(dir) {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

async function run_officina(args) {
  try {
    return await exec_file(officina_bin(), args, { maxBuffer: 16 << 20 });
  } catch (e) {
    throw new Error(`officina ${args.join(" ")} failed (exit ${e.code}): ${e.stderr || e.message}`);
  }
}

// A random model DIR/base.gguf with tiny-gqa's vocabulary and chat template.
export async function make_base_model(dir) {
  const out = path.join(dir, "base.gguf");
  await run_officina([
    "model", "init", "--dim", "128", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "384",
    "--head-dim", "48", "--vocab-from", path.join(conformance_dir(), "models", "tiny-gqa.gguf"), "--seed", "1",
    "--out", out,
  ]);
  return out;
}

// A random LoRA adapter (PEFT directory DIR/adapterSEED) for `base`. B is
// random, so the adapter changes the output.
export async function make_adapter(dir, base, seed) {
  const out = path.join(dir, `adapter${seed}`);
  await run_officina(["model", "lora-init", "-m", base, "--rank", "8", "--seed", `${seed}`, "--out", out]);
  return out;
}

// The base model and adapters adapter1..adapterN in a new temp dir.
export async function make_fixtures(tag, adapter_count) {
  const dir = make_temp_dir(tag);
  const base = await make_base_model(dir);
  const adapters = [];
  for (let seed = 1; seed <= adapter_count; ++seed) adapters.push(await make_adapter(dir, base, seed));
  return { dir, base, adapters };
}

// A running `officina serve`. Start with Server.start; always stop() it.
export class Server {
  constructor(proc) {
    this.proc = proc;
    this.pid = proc.pid;
    this.stdout_lines = [];
    this.stderr = "";
    this.exit = null;  // {code, signal} once it has exited
    this.exited = new Promise((resolve) => proc.on("exit", (code, signal) => {
      this.exit = { code, signal };
      resolve(this.exit);
    }));
  }

  // Spawns `officina serve -m MODEL --port 0 ARGS...` and waits until it has
  // printed its address and /health answers 200. `key` is the API key the
  // server printed, or the one given with --api-key.
  static async start(model, args = [], { start_timeout_ms = 60000 } = {}) {
    const argv = ["serve", "-m", model, "--host", "127.0.0.1", "--port", "0", ...args];
    const proc = spawn(officina_bin(), argv, { stdio: ["ignore", "pipe", "pipe"] });
    const server = new Server(proc);
    server.argv = argv;
    proc.stderr.on("data", (d) => { server.stderr += d.toString(); });
    const given_key = args.indexOf("--api-key");
    server.key = given_key >= 0 ? args[given_key + 1] : null;
    const lines = readline.createInterface({ input: proc.stdout });
    const listening = new Promise((resolve, reject) => {
      lines.on("line", (line) => {
        server.stdout_lines.push(line);
        const key = /^officina serve: API key: (\S+)\s*$/.exec(line);
        if (key) server.key = key[1];
        const url = /^officina serve: listening on (http:\/\/\S+?)\/?\s*$/.exec(line);
        if (url) resolve(url[1]);
      });
      server.exited.then((e) => reject(new Error(
          `officina ${argv.join(" ")} exited (code ${e.code}, signal ${e.signal}) before listening:\n${server.stderr}`)));
      setTimeout(() => reject(new Error(`officina serve printed no 'listening on' line in ${start_timeout_ms} ms; ` +
                                        `stdout: ${server.stdout_lines.join(" | ")}; stderr: ${server.stderr}`)),
                 start_timeout_ms).unref();
    });
    try {
      server.url = await listening;
      server.port = Number(new URL(server.url).port);
      await server.wait_healthy(start_timeout_ms);
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  async wait_healthy(timeout_ms) {
    const deadline = Date.now() + timeout_ms;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/health`);
        last = `${r.status} ${await r.text()}`;
        if (r.status === 200) return;
      } catch (e) {
        last = e.message;
      }
      await sleep(100);
    }
    throw new Error(`${this.url}/health did not answer 200 in ${timeout_ms} ms (last: ${last})`);
  }

  // SIGTERM, then SIGKILL if it has not exited after `grace_ms`. Resolves to
  // the exit {code, signal}.
  async stop(grace_ms = 10000) {
    if (this.exit) return this.exit;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), grace_ms);
    const e = await this.exited;
    clearTimeout(timer);
    return e;
  }

  // An SDK client for this server; options go to the OpenAI constructor.
  client(OpenAI, options = {}) {
    return new OpenAI({ apiKey: this.key, baseURL: `${this.url}/v1`, maxRetries: 0, timeout: 300000, ...options });
  }

  // fetch() against the server with the key (unless headers say otherwise);
  // `body` may be an object (sent as JSON) or a string/Buffer sent as is.
  async request(method, route, body, headers = {}) {
    const h = { authorization: `Bearer ${this.key}`, ...headers };
    let payload = body;
    if (body !== undefined && typeof body !== "string" && !Buffer.isBuffer(body)) payload = JSON.stringify(body);
    if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === "content-type"))
      h["content-type"] = "application/json";
    for (const k of Object.keys(h)) if (h[k] === null) delete h[k];
    const r = await fetch(`${this.url}${route}`, { method, headers: h, body: payload });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON: leave null */ }
    return { status: r.status, headers: r.headers, text, json };
  }

  async metrics() {
    const r = await this.request("GET", "/metrics");
    if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.text}`);
    return parse_prometheus(r.text);
  }

  // Resident set size in bytes, from /proc/PID/status.
  rss_bytes() {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (!m) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(m[1]) * 1024;
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Prometheus text exposition -> [{name, labels: {k: v}, value}] (comments and
// TYPE/HELP lines dropped). Label values are unescaped (\\, \", \n).
export function parse_prometheus(text) {
  const samples = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`/metrics: cannot parse line '${line}'`);
    const labels = {};
    if (m[2]) {
      const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;
      let l;
      while ((l = re.exec(m[2])) !== null)
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

// Sum of the samples named `name` whose labels match every entry of `where`
// (a value or a predicate on the label's value).
export function metric_sum(samples, name, where = {}) {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    let ok = true;
    for (const [k, want] of Object.entries(where)) {
      const v = s.labels[k];
      if (typeof want === "function" ? !want(v) : v !== want) ok = false;
    }
    if (ok) sum += s.value;
  }
  return sum;
}

export function metric_names(samples) {
  return new Set(samples.map((s) => s.name));
}

// L2 norm of a vector (array or typed array).
export function l2_norm(v) {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

// Reads a streamed chat completion from the SDK into {text, finish_reason,
// usage, chunks, roles}, one entry per choice index in `texts`.
export async function collect_chat_stream(stream) {
  const out = { texts: [], finish_reasons: [], usage: null, chunks: 0, ids: new Set(), objects: new Set() };
  for await (const chunk of stream) {
    ++out.chunks;
    out.ids.add(chunk.id);
    out.objects.add(chunk.object);
    if (chunk.usage) out.usage = chunk.usage;
    for (const c of chunk.choices ?? []) {
      out.texts[c.index] = (out.texts[c.index] ?? "") + (c.delta?.content ?? "");
      if (c.finish_reason) out.finish_reasons[c.index] = c.finish_reason;
    }
  }
  out.text = out.texts[0] ?? "";
  out.finish_reason = out.finish_reasons[0] ?? null;
  return out;
}

// Checks `value` against the subset of JSON Schema the tests use (type,
// properties, required, additionalProperties: false, enum, const, minLength,
// maxLength, items, minItems, maxItems). Returns the list of problems, each
// naming its JSON path; empty when the value is valid.
export function json_schema_problems(schema, value, where = "$") {
  const problems = [];
  const type_of = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = type_of(value);
    const ok = types.some((want) => want === t || (want === "number" && (t === "integer" || t === "number")));
    if (!ok) return [`${where}: ${JSON.stringify(value)} is ${t}, not ${types.join("|")}`];
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    problems.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value))
    problems.push(`${where}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  if (typeof value === "string") {
    const length = [...value].length;
    if (schema.maxLength !== undefined && length > schema.maxLength)
      problems.push(`${where}: ${length} characters, over maxLength ${schema.maxLength}`);
    if (schema.minLength !== undefined && length < schema.minLength)
      problems.push(`${where}: ${length} characters, under minLength ${schema.minLength}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      problems.push(`${where}: ${value.length} items, under minItems ${schema.minItems}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      problems.push(`${where}: ${value.length} items, over maxItems ${schema.maxItems}`);
    if (schema.items) value.forEach((v, i) => problems.push(...json_schema_problems(schema.items, v, `${where}[${i}]`)));
  }
  if (type_of(value) === "object") {
    const properties = schema.properties ?? {};
    for (const name of schema.required ?? [])
      if (!(name in value)) problems.push(`${where}: required property '${name}' is missing`);
    for (const [name, v] of Object.entries(value)) {
      if (name in properties) problems.push(...json_schema_problems(properties[name], v, `${where}.${name}`));
      else if (schema.additionalProperties === false) problems.push(`${where}: property '${name}' is not declared`);
    }
  }
  return problems;
}

// Token count of `text` by the model's tokenizer (`officina tokenize`).
export async function count_tokens(model, text, { bos = true } = {}) {
  const args = ["tokenize", "-m", model, "-p", text];
  if (!bos) args.push("--no-bos");
  const { stdout } = await run_officina(args);
  return JSON.parse(stdout).length;
}

// Whether `text` is a whole JSON value ("complete"), could still become one
// ("prefix": what a grammar-held reply cut off by max_tokens must be), or
// neither ("invalid"). `top` restricts the outer value ("object": JSON object).
export function json_prefix_state(text, top = "any") {
  class Incomplete extends Error {}
  let i = 0;
  const peek = () => {
    if (i >= text.length) throw new Incomplete();
    return text[i];
  };
  const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) ++i; };
  const expect = (word) => {
    for (const c of word) if (peek() !== c) throw new SyntaxError(`at ${i}: expected ${word}`); else ++i;
  };
  const string = () => {
    expect("\"");
    for (;;) {
      const c = peek();
      ++i;
      if (c === "\"") return;
      if (c < " ") throw new SyntaxError(`at ${i - 1}: a control character in a string`);
      if (c !== "\\") continue;
      const e = peek();
      ++i;
      if (e === "u") {
        for (let k = 0; k < 4; ++k, ++i) if (!/[0-9a-fA-F]/.test(peek())) throw new SyntaxError(`at ${i}: bad \\u escape`);
      } else if (!"\"\\/bfnrt".includes(e)) {
        throw new SyntaxError(`at ${i - 1}: bad escape \\${e}`);
      }
    }
  };
  const digits = () => {
    if (!/[0-9]/.test(peek())) throw new SyntaxError(`at ${i}: expected a digit`);
    while (i < text.length && /[0-9]/.test(text[i])) ++i;
  };
  const number = () => {
    if (peek() === "-") ++i;
    if (peek() === "0") ++i; else digits();
    if (i < text.length && text[i] === ".") { ++i; digits(); }
    if (i < text.length && (text[i] === "e" || text[i] === "E")) {
      ++i;
      if (peek() === "+" || peek() === "-") ++i;
      digits();
    }
    // A number at the very end may still grow; it is only complete once something follows.
    if (i >= text.length) throw new Incomplete();
  };
  const value = () => {
    ws();
    const c = peek();
    if (c === "{") {
      ++i;
      ws();
      if (peek() === "}") { ++i; return; }
      for (;;) {
        ws(); string(); ws(); expect(":"); value(); ws();
        if (peek() === "}") { ++i; return; }
        expect(",");
      }
    }
    if (c === "[") {
      ++i;
      ws();
      if (peek() === "]") { ++i; return; }
      for (;;) {
        value(); ws();
        if (peek() === "]") { ++i; return; }
        expect(",");
      }
    }
    if (c === "\"") return string();
    if (c === "t") return expect("true");
    if (c === "f") return expect("false");
    if (c === "n") return expect("null");
    if (c === "-" || /[0-9]/.test(c)) return number();
    throw new SyntaxError(`at ${i}: unexpected ${JSON.stringify(c)}`);
  };
  try {
    ws();
    if (top === "object" && peek() !== "{") return "invalid";
    value();
    ws();
    return i === text.length ? "complete" : "invalid";
  } catch (e) {
    if (e instanceof Incomplete) {
      // A top-level number running to the end is complete as it stands.
      try { JSON.parse(text); return top === "object" ? "prefix" : "complete"; } catch { return "prefix"; }
    }
    return "invalid";
  }
}
