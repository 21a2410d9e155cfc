// The OpenAI-compatible HTTP server: one base model, any number of LoRA
// adapters, every request through the continuous-batching Scheduler.
//   POST /v1/chat/completions, POST /v1/completions  (stream or not)
//   POST /v1/embeddings                              (mean-pooled, L2-normalised)
//   GET  /v1/models[/ID]                             (the base and every adapter)
//   GET/POST /v1/adapters, DELETE /v1/adapters/NAME  (run-time adapters, LRU-bounded)
//   GET  /health (no key), GET /metrics (Prometheus text)
// Every route but /health needs "Authorization: Bearer KEY". Errors are
// OpenAI-shaped (api_error.h). Bodies over max_body get 413, a full queue
// 429, a client that stops sending its request is dropped after
// read_timeout seconds, a client that goes away cancels its sequences
// (a stream on its next write, a non-streamed request within 0.1 s).
// Thread-safety: start() once; stop() from any thread (a signal handler's
// thread included, not the handler itself).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "model/model.h"
#include "serve/adapter_registry.h"
#include "serve/api_error.h"
#include "serve/scheduler.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace officina {

// Who a request comes from, as the authenticator saw it.
struct AuthContext {
  std::string key_id;
  // The project whose adapters the key may use besides the shared ones;
  // empty: every adapter (the operator, or a key given with --api-key).
  std::string project_id;
  bool is_operator = true;  // may load adapters from server paths
  bool can_write = true;    // may remove its project's adapters
};
// Checks a key (from "Authorization: Bearer" or "api-key"); an ApiError
// (401) refuses it. Called from many HTTP threads at once.
using Authenticator = std::function<ApiResult<AuthContext>(std::string_view key)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port
  std::vector<std::string> api_keys;  // at least one, unless authenticator is set
  Authenticator authenticator;        // instead of api_keys (the platform's keys)
  std::string alias;                  // the base model's name (default: the file name without extension)
  std::string chat_template_file;     // instead of the model's template
  size_t max_body = size_t{4} << 20;
  int read_timeout = 10;              // seconds a client may take to send its request
  double request_timeout = 600;       // seconds a completion may run
  int http_threads = 160;             // connections served at once
  size_t max_adapters = 8;            // adapters held in memory (LRU)
  int max_n = 8;
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> create(const Model& model, const ServerOptions& options,
                                                const SchedulerOptions& scheduler);
  ~Server();

  AdapterRegistry& adapters();
  const std::string& base_name() const;
  // The HTTP server, for a higher layer to add its routes (the platform
  // API) before bind(); its error and exception handlers stay this server's.
  httplib::Server& http();
  // The request's key checked by the authenticator (or the --api-key list).
  ApiResult<AuthContext> authenticate(const httplib::Request& req);
  static void send_error(httplib::Response& res, const ApiError& error);
  // Lets bodies of up to max_bytes reach routes under `path_prefix` (uploads);
  // every other route keeps max_body. Call before bind().
  void allow_large_bodies(const std::string& path_prefix, size_t max_bytes);
  // Binds the socket; returns the port (the chosen one for port 0).
  Result<int> bind();
  // Serves until stop(); call after bind().
  void run();
  void stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads an API keys file: one key per line, '#' comments and blank lines
// skipped; fails on an empty file or a key shorter than 16 characters.
Result<std::vector<std::string>> read_api_keys_file(const std::string& path);
// "sk-officina-" and 32 random hex digits from the system's random source.
std::string generate_api_key();

}  // namespace officina
