// officina serve -m MODEL [--alias NAME] [--adapter NAME=PATH[:SCALE] ...] [--host 127.0.0.1] [--port 8080]
//                [--api-key KEY | --api-keys-file FILE | --data-dir DIR] [--parallel N] [--ctx N] ...
// Serves the model over the OpenAI API (see src/serve/server.h and
// docs/server.md). Without a key option a key is generated and printed once;
// with --data-dir the platform API is served too and every request is
// checked against the instance's keys (docs/platform.md).
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "platform/platform_api.h"
#include "platform/platform_services.h"
#include "serve/server.h"

namespace officina::cli {

namespace {
struct ServeArgs {
  std::string model, api_key, api_keys_file, data_dir;
  std::vector<std::string> adapters;
  ServerOptions server;
  SchedulerOptions scheduler;
  PlatformServiceOptions platform;
};

Server* g_server = nullptr;

void on_signal(int) {
  // httplib's stop() only flips flags and shuts the listening socket down.
  if (g_server) g_server->stop();
}

void run_serve(ServeArgs a) {
  if (!a.api_key.empty() && !a.api_keys_file.empty())
    return report(Error{"give --api-key or --api-keys-file, not both"});
  bool generated = false;
  std::unique_ptr<Platform> platform;
  if (!a.data_dir.empty()) {
    if (!a.api_key.empty() || !a.api_keys_file.empty())
      return report(Error{"--data-dir authenticates with the instance's keys: leave out --api-key and --api-keys-file"});
    auto opened = Platform::open(a.data_dir);
    if (!opened) return report(opened.error());
    platform = std::move(*opened);
    a.server.authenticator = platform_authenticator(*platform);
  } else if (!a.api_keys_file.empty()) {
    auto keys = read_api_keys_file(a.api_keys_file);
    if (!keys) return report(keys.error());
    a.server.api_keys = *keys;
  } else if (!a.api_key.empty()) {
    if (a.api_key.size() < 16) return report(Error{"--api-key must have at least 16 characters"});
    a.server.api_keys = {a.api_key};
  } else {
    a.server.api_keys = {generate_api_key()};
    generated = true;
  }
  auto loaded = Model::load(a.model);
  if (!loaded) return report(loaded.error());
  const Model& model = **loaded;
  if (a.scheduler.context <= 0) a.scheduler.context = std::min<int64_t>(model.config().context_length, 4096);
  auto server = Server::create(model, a.server, a.scheduler);
  if (!server) return report(server.error());
  std::unique_ptr<PlatformServices> services;
  if (platform) {
    a.platform.model_path = a.model;
    auto made = PlatformServices::create(*platform, **server, model, a.platform);
    if (!made) return report(made.error());
    services = std::move(*made);
  }
  for (const auto& spec : a.adapters) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      return report(Error{fmt::format("--adapter {}: expected NAME=PATH[:SCALE]", spec)});
    if (spec.substr(0, eq) == (*server)->base_name())
      return report(Error{fmt::format("--adapter {}: the name is the base model's", spec)});
    if (auto ok = (*server)->adapters().add(spec.substr(0, eq), spec.substr(eq + 1)); !ok)
      return report(Error{fmt::format("--adapter {}: {}", spec, ok.error().message)});
  }
  auto port = (*server)->bind();
  if (!port) return report(port.error());
  if (services) {
    if (auto ok = services->start(); !ok) return report(ok.error());
  }
  if (generated) std::printf("officina serve: API key: %s\n", a.server.api_keys[0].c_str());
  std::printf("officina serve: model %s, %zu adapters, %lld sequences x %lld context\n", (*server)->base_name().c_str(),
              (*server)->adapters().list().size(), static_cast<long long>(a.scheduler.parallel),
              static_cast<long long>(a.scheduler.context));
  if (platform) std::printf("officina serve: platform API of %s\n", a.data_dir.c_str());
  std::printf("officina serve: listening on http://%s:%d\n", a.server.host.c_str(), *port);
  std::fflush(stdout);
  g_server = server->get();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  (*server)->run();
  g_server = nullptr;
  if (services) services->stop();
  std::fprintf(stderr, "officina serve: stopped\n");
}
}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve a model and its LoRA adapters over the OpenAI API (continuous batching)");
  auto a = std::make_shared<ServeArgs>();
  ServerOptions& s = a->server;
  SchedulerOptions& q = a->scheduler;
  q.context = 0;
  cmd->add_option("-m,--model", a->model, "a .gguf file or a Hugging Face directory")->required();
  cmd->add_option("--alias", s.alias, "the base model's name in the API (default: the file name)");
  cmd->add_option("--adapter", a->adapters, "a LoRA adapter NAME=PATH[:SCALE] (PEFT dir or GGUF; repeatable)");
  cmd->add_option("--host", s.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", s.port, "port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", a->api_key, "the API key clients must send (default: a generated one, printed once)");
  cmd->add_option("--api-keys-file", a->api_keys_file, "a file of API keys, one per line");
  cmd->add_option("--data-dir", a->data_dir, "serve the platform API of this instance and use its keys (officina admin init)");
  cmd->add_option("--job-cores", a->platform.cores_per_job, "with --data-dir: cores (threads) per fine-tuning job")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->add_option("--max-jobs", a->platform.total_job_cores, "with --data-dir: cores all running jobs may hold together")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--jobs-per-project", a->platform.max_running_per_project, "with --data-dir: running jobs per project")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->add_option("--job-memory", a->platform.job_memory_mb, "with --data-dir: address-space limit per job in MiB (0: none)")
      ->capture_default_str();
  cmd->add_option("--max-upload", a->platform.max_upload, "with --data-dir: largest uploaded file in bytes")
      ->capture_default_str();
  PlatformServiceOptions& p = a->platform;
  cmd->add_option("--executor", p.executor, "with --data-dir: where fine-tuning jobs run: local or slurm")
      ->capture_default_str()->check(CLI::IsMember({"local", "slurm"}));
  cmd->add_option("--slurm-partition", p.slurm.partition, "with --executor slurm: the partition jobs go to");
  cmd->add_option("--slurm-qos", p.slurm.qos, "with --executor slurm: the QoS of the jobs");
  cmd->add_option("--slurm-account-prefix", p.account_prefix,
                  "with --executor slurm: charge jobs to Slurm account PREFIX<project id>");
  cmd->add_option("--slurm-workdir", p.jobs_dir,
                  "with --executor slurm: job directories, on a filesystem the compute nodes share");
  cmd->add_option("--slurm-bin", p.slurm.bin_dir, "with --executor slurm: directory of sbatch, scontrol, ... (default: PATH)");
  cmd->add_option("--slurm-mpi", p.slurm.mpi, "with --executor slurm: srun --mpi type for jobs of several tasks")
      ->capture_default_str();
  cmd->add_option("--slurm-time-limit", p.time_limit_minutes, "with --executor slurm: a job's time limit in minutes")
      ->capture_default_str()->check(CLI::Range(1, 10080));
  cmd->add_option("--slurm-max-requeue", p.max_requeues, "with --executor slurm: requeues after TIMEOUT")
      ->capture_default_str()->check(CLI::Range(0, 100));
  cmd->add_option("--slurm-poll", p.slurm.poll_interval, "with --executor slurm: seconds between state queries of a job")
      ->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--chat-template", s.chat_template_file, "a Jinja template file instead of the model's");
  cmd->add_option("-p,--parallel", q.parallel, "sequences decoded together")->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->add_option("-c,--ctx", q.context, "context per sequence (default: the model's, at most 4096)");
  cmd->add_option("-t,--threads", q.threads, "engine threads (default: all cores)");
  cmd->add_option("--max-queue", q.max_queue, "waiting requests before 429")->capture_default_str()->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--step-tokens", q.step_tokens, "rows per forward pass (decode + prefill chunk)")
      ->capture_default_str()->check(CLI::Range(1, 8192));
  cmd->add_flag("--no-prefix-reuse", [q = &q](int64_t) { q->prefix_reuse = false; }, "never reuse cached prompt prefixes");
  cmd->add_option("--max-body", s.max_body, "largest request body in bytes")->capture_default_str();
  cmd->add_option("--max-adapters", s.max_adapters, "adapters held in memory (least recently used dropped)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--read-timeout", s.read_timeout, "seconds a client may take to send a request")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  cmd->add_option("--request-timeout", s.request_timeout, "seconds a completion may run")->capture_default_str();
  cmd->add_option("--http-threads", s.http_threads, "connections served at once")->capture_default_str()->check(CLI::Range(2, 4096));
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace officina::cli
