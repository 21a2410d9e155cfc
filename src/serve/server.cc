#include "serve/server.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/model_chat_template.h"
#include "serve/api_error.h"
#include "serve/client_connection.h"
#include "serve/metrics.h"
#include "serve/openai_request.h"
#include "serve/openai_response.h"

namespace officina {

using OJson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Compares every byte whatever the content, so the time says nothing about
// how much of a guess was right.
bool same_key(const std::string& given, const std::string& key) {
  if (given.size() != key.size() || key.empty()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < key.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ key[i]);
  return diff == 0;
}

std::string base64(const void* data, size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < size ? uint32_t{p[i + 1]} << 8 : 0u) | (i + 2 < size ? p[i + 2] : 0u);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// What the engine thread hands to the HTTP thread of one request.
struct Exchange {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::pair<int, SequenceEvent>> events;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
};

// Folds one sequence's events into its ChoiceResult and records the time
// to the request's first token.
struct ChoiceCollector {
  Metrics& metrics;
  Clock::time_point started;
  bool first = true;

  void add(ChoiceResult& c, const SequenceEvent& e) {
    if (e.kind == SequenceEvent::Kind::Text) {
      if (first && e.token >= 0) {
        metrics.observe_first_token(std::chrono::duration<double>(Clock::now() - started).count());
        first = false;
      }
      c.text += e.text;
      if (e.logprob) c.tokens.push_back(e);
    } else if (e.kind == SequenceEvent::Kind::Done) {
      c.finish = e.finish;
      c.completion_tokens = e.completion_tokens;
      c.prompt_tokens = e.prompt_tokens;
      c.cached_tokens = e.cached_tokens;
    }
  }
};

}  // namespace

struct Server::Impl {
  const Model& model;
  ServerOptions options;
  std::string base;
  ModelChatTemplate tmpl;
  std::unique_ptr<GrammarTokenFilter> filter;
  ServeContext context;
  std::unique_ptr<Scheduler> scheduler;
  AdapterRegistry registry;
  Metrics metrics;
  httplib::Server http;
  int64_t created = unix_now();
  int port = 0;
  std::vector<std::pair<std::string, size_t>> large_body_prefixes;  // (path prefix, its body limit)

  Impl(const Model& m, const ServerOptions& o) : model(m), options(o), registry(m.config(), o.max_adapters) {}

  void routes();
  ApiResult<AuthContext> authenticate(const httplib::Request& req);
  void send_error(httplib::Response& res, const ApiError& error) { Server::send_error(res, error); }
  ApiResult<OJson> parse_body(const httplib::Request& req);
  ApiResult<AdapterHandle> resolve_model(const std::string& name, const AuthContext& who);
  void completions(const httplib::Request& req, httplib::Response& res, bool chat, const AuthContext& who);
  void embeddings(const httplib::Request& req, httplib::Response& res, const AuthContext& who);
  void models(const httplib::Request& req, httplib::Response& res, const AuthContext& who);
  GaugeValues gauges() const;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }
AdapterRegistry& Server::adapters() { return impl_->registry; }
const std::string& Server::base_name() const { return impl_->base; }
httplib::Server& Server::http() { return impl_->http; }
ApiResult<AuthContext> Server::authenticate(const httplib::Request& req) { return impl_->authenticate(req); }

void Server::allow_large_bodies(const std::string& path_prefix, size_t max_bytes) {
  // httplib has one payload limit for the whole server: it is raised for the
  // uploads, and the pre-routing check below holds every other route to
  // max_body before any body is read.
  impl_->large_body_prefixes.emplace_back(path_prefix, max_bytes);
  impl_->http.set_payload_max_length(std::max(impl_->options.max_body, max_bytes));
}

void Server::send_error(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  res.set_content(error.json(), "application/json");
}

namespace {

// Adapters of no project are shared; a project's are its keys' alone.
bool may_use(const std::string& owner, const AuthContext& who) {
  return owner.empty() || who.project_id.empty() || owner == who.project_id;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::create(const Model& model, const ServerOptions& options,
                                               const SchedulerOptions& scheduler) {
  if (options.api_keys.empty() && !options.authenticator) return fail("serve: no API key");
  auto impl = std::make_unique<Impl>(model, options);
  impl->base = options.alias.empty() ? model.name() : options.alias;
  OFFICINA_TRY(impl->tmpl, model_chat_template(model, "", options.chat_template_file));
  impl->filter = std::make_unique<GrammarTokenFilter>(model.tokenizer());
  OFFICINA_TRY(impl->scheduler, Scheduler::create(model, scheduler));
  ServeContext& c = impl->context;
  c.model = &model;
  c.chat_template = &impl->tmpl.tmpl;
  c.render = chat_render_options(model);
  c.tool_format = detect_tool_call_format(impl->tmpl.tmpl.source());
  c.token_filter = impl->filter.get();
  c.context = scheduler.context;
  c.max_n = options.max_n;
  impl->routes();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Result<int> Server::bind() {
  Impl& s = *impl_;
  if (s.options.port == 0) {
    const int port = s.http.bind_to_any_port(s.options.host);
    if (port <= 0) return fail("serve: cannot listen on {}", s.options.host);
    s.port = port;
  } else {
    if (!s.http.bind_to_port(s.options.host, s.options.port))
      return fail("serve: cannot listen on {}:{} (in use, or not an address of this machine)", s.options.host,
                  s.options.port);
    s.port = s.options.port;
  }
  return s.port;
}

void Server::run() { impl_->http.listen_after_bind(); }
void Server::stop() {
  if (impl_) impl_->http.stop();
}

GaugeValues Server::Impl::gauges() const {
  const SchedulerStats st = scheduler->stats();
  GaugeValues g;
  g.queue_length = st.queued;
  g.active_sequences = st.active;
  g.adapters_loaded = static_cast<int64_t>(registry.loaded_count());
  g.adapters_known = static_cast<int64_t>(registry.list().size());
  g.adapter_loads = registry.loads();
  g.reused_prompt_tokens = st.reused_tokens;
  g.batch_steps = st.steps;
  return g;
}

ApiResult<AuthContext> Server::Impl::authenticate(const httplib::Request& req) {
  std::string header = req.get_header_value("Authorization");
  std::string key;
  if (header.starts_with("Bearer ")) key = header.substr(7);
  else key = req.get_header_value("api-key");
  if (options.authenticator) return options.authenticator(key);
  if (key.empty()) {
    return std::unexpected(ApiError{401, "You didn't provide an API key: send \"Authorization: Bearer YOUR_KEY\"",
                                    "authentication_error", "", "missing_api_key"});
  }
  bool ok = false;
  for (const auto& k : options.api_keys) ok = same_key(key, k) || ok;
  if (!ok) return std::unexpected(ApiError{401, "Incorrect API key provided", "authentication_error", "", "invalid_api_key"});
  return AuthContext{};
}

ApiResult<OJson> Server::Impl::parse_body(const httplib::Request& req) {
  try {
    return OJson::parse(req.body);
  } catch (const nlohmann::json::parse_error& e) {
    return std::unexpected(bad_request(fmt::format("the body is not valid JSON: {}", e.what()), "", "invalid_json"));
  }
}

ApiResult<AdapterHandle> Server::Impl::resolve_model(const std::string& name, const AuthContext& who) {
  if (name == base) return AdapterHandle{};
  const auto owner = registry.owner(name);
  if (!owner || !may_use(*owner, who))
    return std::unexpected(ApiError{404, fmt::format("The model '{}' does not exist", name), "invalid_request_error",
                                    "model", "model_not_found"});
  auto handle = registry.get(name);
  if (!handle) return std::unexpected(ApiError{500, handle.error().message, "server_error", "model", ""});
  return *handle;
}

void Server::Impl::completions(const httplib::Request& req, httplib::Response& res, bool chat,
                               const AuthContext& who) {
  auto body = parse_body(req);
  if (!body) return send_error(res, body.error());
  auto job_result = chat ? parse_chat_request(*body, context) : parse_completion_request(*body, context);
  if (!job_result) return send_error(res, job_result.error());
  auto job = std::make_shared<CompletionJob>(std::move(*job_result));
  auto adapter = resolve_model(job->model, who);
  if (!adapter) return send_error(res, adapter.error());

  auto exchange = std::make_shared<Exchange>();
  const auto started = Clock::now();
  const uint64_t seed = job->seed.value_or(std::random_device{}());
  int submitted = 0;
  for (int i = 0; i < job->n; ++i) {
    SequenceRequest r;
    r.prompt = job->prompt;
    r.decode = job->decode;
    r.decode.sampling.seed = seed + static_cast<uint64_t>(i);
    r.keep_alive = job;
    r.adapter = adapter->adapter;
    r.adapter_key = adapter->key;
    r.deadline = started + std::chrono::milliseconds(static_cast<int64_t>(options.request_timeout * 1000));
    r.cancel = exchange->cancel;
    r.on_event = [exchange, i](const SequenceEvent& event) {
      {
        std::lock_guard lock(exchange->mutex);
        exchange->events.emplace_back(i, event);
      }
      exchange->cv.notify_all();
    };
    auto ok = scheduler->submit(std::move(r));
    if (!ok) {
      // Choices already queued see the cancel flag and end at once.
      exchange->cancel->store(true);
      if (ok.error().message.starts_with("queue full"))
        return send_error(res, {429, "The server is busy: " + ok.error().message + "; retry later", "rate_limit_error", "",
                                "queue_full"});
      return send_error(res, bad_request(ok.error().message));
    }
    ++submitted;
  }
  ResponseMeta meta{random_id(chat ? "chatcmpl-" : "cmpl-"), unix_now(), job->model};

  if (!job->stream) {
    std::vector<ChoiceResult> choices(static_cast<size_t>(job->n));
    int done = 0;
    std::string failure;
    ChoiceCollector collector{metrics, started};
    // A client that gives up cancels its choices (checked between events).
    const auto connection = ClientConnection::find(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
    std::unique_lock lock(exchange->mutex);
    auto next_check = Clock::now() + std::chrono::milliseconds(100);
    while (done < submitted) {
      exchange->cv.wait_until(lock, next_check, [&] { return !exchange->events.empty(); });
      if (Clock::now() >= next_check) {
        next_check = Clock::now() + std::chrono::milliseconds(100);
        if (connection && connection->closed()) {
          exchange->cancel->store(true);
          res.status = 499;  // nginx's "client closed request", for the metrics; nobody reads it
          return;
        }
      }
      while (!exchange->events.empty()) {
        auto [i, e] = std::move(exchange->events.front());
        exchange->events.pop_front();
        collector.add(choices[static_cast<size_t>(i)], e);
        if (e.kind == SequenceEvent::Kind::Failed) failure = e.error;
        if (e.kind != SequenceEvent::Kind::Text) ++done;
      }
    }
    lock.unlock();
    if (!failure.empty()) return send_error(res, {500, "generation failed: " + failure, "server_error", "", ""});
    int64_t completion = 0;
    for (const auto& c : choices) completion += c.completion_tokens;
    metrics.count_tokens(choices[0].prompt_tokens, completion);
    OJson out = chat ? chat_completion_json(*job, meta, context.tool_format, choices, model.tokenizer())
                     : text_completion_json(*job, meta, choices, model.tokenizer());
    res.set_content(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
    return;
  }

  // Streaming: server-sent events, one chunk per token (text held back while
  // tool calls are being read, then sent as tool_calls).
  const std::string endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, job, exchange, meta, chat, submitted, started](size_t, httplib::DataSink& sink) {
        auto send = [&](const OJson& chunk) {
          std::string line = "data: " + chunk.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
          return sink.write(line.data(), line.size());
        };
        const size_t n = static_cast<size_t>(job->n);
        std::vector<ChoiceResult> choices(n);
        std::vector<bool> started_choice(n, false);
        int done = 0;
        ChoiceCollector collector{metrics, started};
        const bool hold = chat && job->parse_tool_calls;
        while (done < submitted) {
          std::deque<std::pair<int, SequenceEvent>> batch;
          {
            std::unique_lock lock(exchange->mutex);
            exchange->cv.wait_for(lock, std::chrono::seconds(1), [&] { return !exchange->events.empty(); });
            batch.swap(exchange->events);
          }
          if (batch.empty() && sink.is_writable && !sink.is_writable()) {
            exchange->cancel->store(true);
            return false;
          }
          for (auto& [i, e] : batch) {
            ChoiceResult& c = choices[static_cast<size_t>(i)];
            if (chat && !started_choice[static_cast<size_t>(i)]) {
              started_choice[static_cast<size_t>(i)] = true;
              if (!send(chat_chunk_json(meta, i, {{"role", "assistant"}, {"content", ""}}, ""))) {
                exchange->cancel->store(true);
                return false;
              }
            }
            bool ok = true;
            collector.add(c, e);
            if (e.kind == SequenceEvent::Kind::Text) {
              if (hold || (e.text.empty() && !e.logprob)) continue;
              OJson lp;
              if (job->logprobs && e.logprob)
                lp = logprobs_json(std::vector<SequenceEvent>{e}, model.tokenizer(), chat);
              ok = chat ? send(chat_chunk_json(meta, i, {{"content", e.text}}, "", lp))
                        : send(text_chunk_json(meta, i, e.text, "", lp));
            } else if (e.kind == SequenceEvent::Kind::Done) {
              ++done;
              std::string finish = e.finish;
              if (hold) {
                OJson message = chat_message_json(*job, context.tool_format, c, finish);
                OJson delta = OJson::object();
                if (message.contains("tool_calls")) {
                  OJson calls = message["tool_calls"];
                  for (size_t k = 0; k < calls.size(); ++k) calls[k]["index"] = k;
                  delta["tool_calls"] = calls;
                } else {
                  delta["content"] = message["content"];
                }
                OJson lp;
                if (job->logprobs) lp = logprobs_json(c.tokens, model.tokenizer(), true);
                ok = send(chat_chunk_json(meta, i, delta, "", lp));
              }
              if (ok)
                ok = chat ? send(chat_chunk_json(meta, i, OJson::object(), finish))
                          : send(text_chunk_json(meta, i, "", finish));
            } else {
              ++done;
              OJson err = OJson::parse(ApiError{500, "generation failed: " + e.error, "server_error", "", ""}.json());
              ok = send(err);
            }
            if (!ok) {
              exchange->cancel->store(true);
              return false;
            }
          }
        }
        int64_t completion = 0;
        for (const auto& c : choices) completion += c.completion_tokens;
        metrics.count_tokens(choices[0].prompt_tokens, completion);
        if (job->include_usage) {
          OJson usage = {{"id", meta.id},
                         {"object", chat ? "chat.completion.chunk" : "text_completion"},
                         {"created", meta.created},
                         {"model", meta.model},
                         {"choices", OJson::array()},
                         {"usage", usage_json(choices[0].prompt_tokens, completion, choices[0].cached_tokens)}};
          if (!send(usage)) return false;
        }
        static const std::string kDone = "data: [DONE]\n\n";
        sink.write(kDone.data(), kDone.size());
        sink.done();
        return true;
      },
      [this, exchange, endpoint, started](bool success) {
        if (!success) exchange->cancel->store(true);
        metrics.count_request(endpoint, success ? 200 : 499, std::chrono::duration<double>(Clock::now() - started).count());
      });
}

void Server::Impl::embeddings(const httplib::Request& req, httplib::Response& res, const AuthContext& who) {
  auto body = parse_body(req);
  if (!body) return send_error(res, body.error());
  if (!body->is_object()) return send_error(res, bad_request("the request body must be a JSON object"));
  for (const auto& [key, value] : body->items())
    if (key != "model" && key != "input" && key != "encoding_format" && key != "user" && key != "dimensions")
      return send_error(res, bad_request("Unrecognized request argument supplied: " + key, key));
  auto name = request_model(*body);
  if (!name) return send_error(res, name.error());
  auto adapter = resolve_model(*name, who);
  if (!adapter) return send_error(res, adapter.error());
  std::string format = "float";
  if (auto it = body->find("encoding_format"); it != body->end() && !it->is_null()) {
    if (!it->is_string() || (*it != "float" && *it != "base64"))
      return send_error(res, bad_request("'encoding_format' must be \"float\" or \"base64\"", "encoding_format"));
    format = it->get<std::string>();
  }
  if (auto it = body->find("dimensions"); it != body->end() && !it->is_null())
    return send_error(res, bad_request("'dimensions' is not supported: the vectors have the model's width", "dimensions"));
  auto it = body->find("input");
  if (it == body->end()) return send_error(res, bad_request("'input' is required", "input"));
  const Tokenizer& tok = model.tokenizer();
  auto tokens_of = [&](const OJson& v) -> ApiResult<std::vector<int32_t>> {
    if (v.is_string()) {
      std::vector<int32_t> ids = tok.encode(v.get<std::string>(), tok.add_bos_default(), false);
      if (ids.empty()) return std::unexpected(bad_request("'input' must not be empty", "input"));
      return ids;
    }
    if (v.is_array() && !v.empty()) {
      std::vector<int32_t> ids;
      for (const auto& t : v) {
        if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok.vocab_size())
          return std::unexpected(bad_request("'input' token ids must be integers in the vocabulary", "input"));
        ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
      }
      return ids;
    }
    return std::unexpected(bad_request("'input' must be a string, an array of strings, or token ids", "input"));
  };
  std::vector<std::vector<int32_t>> inputs;
  if (it->is_string() || (it->is_array() && !it->empty() && (*it)[0].is_number_integer())) {
    auto ids = tokens_of(*it);
    if (!ids) return send_error(res, ids.error());
    inputs.push_back(std::move(*ids));
  } else if (it->is_array() && !it->empty() && it->size() <= 2048) {
    for (const auto& v : *it) {
      auto ids = tokens_of(v);
      if (!ids) return send_error(res, ids.error());
      inputs.push_back(std::move(*ids));
    }
  } else {
    return send_error(res, bad_request("'input' must be a string or a non-empty array of at most 2048 inputs", "input"));
  }
  OJson data = OJson::array();
  int64_t tokens = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (static_cast<int64_t>(inputs[i].size()) > context.context)
      return send_error(res, bad_request(fmt::format("input {} has {} tokens; the context holds {}", i, inputs[i].size(),
                                                     context.context), "input", "context_length_exceeded"));
    tokens += static_cast<int64_t>(inputs[i].size());
    auto vec = scheduler->embed(inputs[i], adapter->adapter);
    if (!vec) return send_error(res, {500, vec.error().message, "server_error", "", ""});
    OJson embedding = format == "base64" ? OJson(base64(vec->data(), vec->size() * sizeof(float))) : OJson(*vec);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embedding}});
  }
  metrics.count_tokens(tokens, 0);
  OJson out = {{"object", "list"}, {"data", data}, {"model", *name},
               {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  res.set_content(out.dump(), "application/json");
}

void Server::Impl::models(const httplib::Request& req, httplib::Response& res, const AuthContext& who) {
  auto entry = [](const std::string& id, int64_t created, const std::string& parent) {
    OJson m = {{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "officina"}};
    if (!parent.empty()) m["parent"] = parent;
    return m;
  };
  OJson data = OJson::array();
  data.push_back(entry(base, created, ""));
  for (const auto& row : registry.list()) {
    if (may_use(row.owner, who)) data.push_back(entry(row.name, row.created, base));
  }
  if (req.matches.size() > 1) {
    const std::string id = req.matches[1];
    for (const auto& m : data)
      if (m["id"] == id) return res.set_content(m.dump(), "application/json");
    return send_error(res, {404, fmt::format("The model '{}' does not exist", id), "invalid_request_error", "model",
                            "model_not_found"});
  }
  res.set_content(OJson{{"object", "list"}, {"data", data}}.dump(), "application/json");
}

void Server::Impl::routes() {
  http.new_task_queue = [threads = options.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_payload_max_length(options.max_body);
  http.set_read_timeout(options.read_timeout, 0);
  http.set_write_timeout(30, 0);
  http.set_keep_alive_timeout(3);
  http.set_keep_alive_max_count(1000);

  // The body limit is max_body but for upload routes (allow_large_bodies);
  // bodies that announce more are refused before they are read.
  // Bodies are held to their route's limit (max_body, or an upload route's
  // own from allow_large_bodies) on the announced length, before any of the
  // body is read and before authentication. A refused request's connection
  // is closed, so its unread body is never taken for the next request.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    size_t limit = options.max_body;
    bool upload = false;
    for (const auto& [prefix, bytes] : large_body_prefixes) {
      if (req.path.starts_with(prefix)) limit = bytes, upload = true;
    }
    auto refuse = [&](ApiError error) {
      send_error(res, error);
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    };
    if (!req.has_header("Content-Length")) {
      // A chunked body has no announced length: only upload routes (which
      // count as they stream) take one, and only while uploads raise httplib's limit.
      if (!upload && !large_body_prefixes.empty() && req.has_header("Transfer-Encoding"))
        return refuse({411, "send the body with a Content-Length", "invalid_request_error", "", "length_required"});
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string length = req.get_header_value("Content-Length");
    if (length.size() > 18 || std::stoull("0" + length) > limit)
      return refuse({413, fmt::format("the request body is larger than the limit of {} bytes", limit),
                     "invalid_request_error", "", "body_too_large"});
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Every handler: count it, check the key (but for /health).
  auto guarded = [this](std::string endpoint, auto handler) {
    return [this, endpoint, handler](const httplib::Request& req, httplib::Response& res) {
      const auto t0 = Clock::now();
      auto who = authenticate(req);
      if (who) {
        handler(req, res, *who);
      } else {
        send_error(res, who.error());
      }
      if (!res.is_chunked_content_provider_)  // streams count themselves when they end
        metrics.count_request(endpoint, res.status == -1 ? 200 : res.status,
                              std::chrono::duration<double>(Clock::now() - t0).count());
    };
  };
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
    metrics.count_request("/health", 200, 0);
  });
  http.Get("/metrics", guarded("/metrics", [this](const httplib::Request&, httplib::Response& res, const AuthContext&) {
             res.set_content(metrics.render(gauges()), "text/plain; version=0.0.4");
           }));
  http.Get("/v1/models", guarded("/v1/models", [this](const httplib::Request& q, httplib::Response& r, const AuthContext& w) { models(q, r, w); }));
  http.Get(R"(/v1/models/(.+))",
           guarded("/v1/models", [this](const httplib::Request& q, httplib::Response& r, const AuthContext& w) { models(q, r, w); }));
  http.Post("/v1/chat/completions", guarded("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r, const AuthContext& w) {
              completions(q, r, true, w);
            }));
  http.Post("/v1/completions", guarded("/v1/completions", [this](const httplib::Request& q, httplib::Response& r, const AuthContext& w) {
              completions(q, r, false, w);
            }));
  http.Post("/v1/embeddings",
            guarded("/v1/embeddings", [this](const httplib::Request& q, httplib::Response& r, const AuthContext& w) {
              embeddings(q, r, w);
            }));
  http.Get("/v1/adapters", guarded("/v1/adapters", [this](const httplib::Request&, httplib::Response& res, const AuthContext& who) {
             OJson data = OJson::array();
             for (const auto& row : registry.list())
               if (may_use(row.owner, who)) data.push_back({{"name", row.name}, {"path", row.path}, {"loaded", row.loaded}, {"created", row.created}});
             res.set_content(OJson{{"object", "list"}, {"data", data}}.dump(), "application/json");
           }));
  http.Post("/v1/adapters", guarded("/v1/adapters", [this](const httplib::Request& req, httplib::Response& res, const AuthContext& who) {
              // A path names a file on this machine: only the operator may point at one.
              if (!who.is_operator)
                return send_error(res, {403, "Only the operator may load adapters from server paths", "permission_error",
                                        "", ""});
              auto body = parse_body(req);
              if (!body) return send_error(res, body.error());
              if (!body->is_object() || !body->contains("name") || !(*body)["name"].is_string() ||
                  !body->contains("path") || !(*body)["path"].is_string())
                return send_error(res, bad_request("the body must be {\"name\": string, \"path\": string}"));
              const std::string name = (*body)["name"];
              if (name == base)
                return send_error(res, {409, "'" + name + "' is the base model's name", "invalid_request_error", "name", "conflict"});
              if (registry.contains(name))
                return send_error(res, {409, "an adapter named '" + name + "' is already loaded", "invalid_request_error",
                                        "name", "conflict"});
              auto ok = registry.add(name, (*body)["path"]);
              if (!ok) return send_error(res, bad_request(ok.error().message, "path", "adapter_invalid"));
              res.status = 201;
              res.set_content(OJson{{"id", name}, {"object", "model"}, {"owned_by", "officina"}, {"parent", base}}.dump(),
                              "application/json");
            }));
  http.Delete(R"(/v1/adapters/(.+))", guarded("/v1/adapters", [this](const httplib::Request& req, httplib::Response& res, const AuthContext& who) {
                const std::string name = req.matches[1];
                const auto owner = registry.owner(name);
                if (owner && may_use(*owner, who) && !who.is_operator && (owner->empty() || !who.can_write))
                  return send_error(res, {403, "This key may not remove adapter '" + name + "'", "permission_error",
                                          "", ""});
                if (!owner || !may_use(*owner, who) || !registry.remove(name))
                  return send_error(res, {404, "no adapter named '" + name + "'", "invalid_request_error", "name",
                                          "model_not_found"});
                res.set_content(OJson{{"id", name}, {"object", "model"}, {"deleted", true}}.dump(), "application/json");
              }));
  // Errors httplib answers itself (unknown route, body too large, bad
  // request line) get an OpenAI-shaped body too.
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = fmt::format("HTTP {}", res.status);
    std::string code;
    if (res.status == 404) message = fmt::format("no route {} {}", req.method, req.path), code = "not_found";
    if (res.status == 413)
      message = fmt::format("the request body is larger than the limit of {} bytes", options.max_body), code = "body_too_large";
    if (res.status == 405) message = fmt::format("method {} not allowed on {}", req.method, req.path);
    res.set_content(ApiError{res.status, message, api_error_type(res.status), "", code}.json(), "application/json");
    if (res.status == 404 || res.status == 413) metrics.count_request("other", res.status, 0);
  });
  http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, {500, what, "server_error", "", ""});
  });
}

Result<std::vector<std::string>> read_api_keys_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("--api-keys-file {}: cannot open", path);
  std::vector<std::string> keys;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.size() < 16) return fail("--api-keys-file {}:{}: keys must have at least 16 characters", path, number);
    keys.push_back(line);
  }
  if (keys.empty()) return fail("--api-keys-file {}: no keys", path);
  return keys;
}

std::string generate_api_key() {
  std::random_device rd;
  std::string key = "sk-officina-";
  for (int i = 0; i < 4; ++i) key += fmt::format("{:08x}", rd());
  return key;
}

}  // namespace officina
