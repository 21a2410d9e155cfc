#include "serve/openai_request.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "text/json_schema_grammar.h"
#include "text/tool_call_grammar.h"

namespace officina {

namespace {

using OJson = nlohmann::ordered_json;

// Optional field readers: absent or null → nullopt; the wrong type → 400.
ApiResult<std::optional<double>> number_field(const OJson& body, const char* name, double lo, double hi) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < lo || it->get<double>() > hi)
    return std::unexpected(bad_request(fmt::format("'{}' must be a number in [{}, {}]", name, lo, hi), name));
  return it->get<double>();
}

ApiResult<std::optional<int64_t>> integer_field(const OJson& body, const char* name, int64_t lo, int64_t hi) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  bool integral = it->is_number_integer() || (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>() &&
                                               std::abs(it->get<double>()) < 9e15);
  if (!integral) return std::unexpected(bad_request(fmt::format("'{}' must be an integer", name), name));
  const int64_t v = it->is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX))
                                             : it->is_number_integer() ? it->get<int64_t>()
                                                                       : static_cast<int64_t>(it->get<double>());
  if (v < lo || v > hi)
    return std::unexpected(bad_request(fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, v), name));
  return v;
}

ApiResult<std::optional<bool>> bool_field(const OJson& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return std::unexpected(bad_request(fmt::format("'{}' must be a boolean", name), name));
  return it->get<bool>();
}

#define API_TRY(var, expr)                          \
  auto var##_result = (expr);                       \
  if (!var##_result) return std::unexpected(var##_result.error()); \
  auto var = *var##_result

ApiResult<void> check_known_fields(const OJson& body, const std::set<std::string>& known) {
  for (const auto& [key, value] : body.items())
    if (!known.contains(key))
      return std::unexpected(bad_request(fmt::format("Unrecognized request argument supplied: {}", key), key));
  return {};
}

// Sampling, stop strings, n, seed, stream: the fields both endpoints share.
ApiResult<void> read_common(const OJson& body, CompletionJob& job, const ServeContext& context) {
  API_TRY(model, request_model(body));
  job.model = model;
  SamplingParams& s = job.decode.sampling;
  // OpenAI's defaults: temperature 1, top_p 1, no top-k or min-p.
  s.temperature = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  API_TRY(temperature, number_field(body, "temperature", 0, 2));
  if (temperature) s.temperature = static_cast<float>(*temperature);
  API_TRY(top_p, number_field(body, "top_p", 0, 1));
  if (top_p) {
    if (*top_p <= 0) return std::unexpected(bad_request("'top_p' must be greater than 0", "top_p"));
    s.top_p = static_cast<float>(*top_p);
  }
  API_TRY(top_k, integer_field(body, "top_k", 0, 1 << 20));
  if (top_k) s.top_k = static_cast<int32_t>(*top_k);
  API_TRY(min_p, number_field(body, "min_p", 0, 1));
  if (min_p) s.min_p = static_cast<float>(*min_p);
  API_TRY(presence, number_field(body, "presence_penalty", -2, 2));
  if (presence) s.presence_penalty = static_cast<float>(*presence);
  API_TRY(frequency, number_field(body, "frequency_penalty", -2, 2));
  if (frequency) s.frequency_penalty = static_cast<float>(*frequency);
  API_TRY(repeat, number_field(body, "repeat_penalty", 0.01, 10));
  if (repeat) s.repeat_penalty = static_cast<float>(*repeat);
  API_TRY(seed, integer_field(body, "seed", INT64_MIN, INT64_MAX));
  if (seed) job.seed = static_cast<uint64_t>(*seed);
  API_TRY(n, integer_field(body, "n", 1, context.max_n));
  if (n) job.n = static_cast<int>(*n);
  API_TRY(stream, bool_field(body, "stream"));
  job.stream = stream.value_or(false);
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return std::unexpected(bad_request("'stream_options' must be an object", "stream_options"));
    API_TRY(usage, bool_field(*it, "include_usage"));
    job.include_usage = usage.value_or(false);
  }
  if (auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      job.decode.stop.push_back(it->get<std::string>());
    } else if (it->is_array() && it->size() <= 4) {
      for (const auto& s : *it) {
        if (!s.is_string()) return std::unexpected(bad_request("'stop' must be a string or an array of up to 4 strings", "stop"));
        job.decode.stop.push_back(s.get<std::string>());
      }
    } else {
      return std::unexpected(bad_request("'stop' must be a string or an array of up to 4 strings", "stop"));
    }
  }
  if (auto it = body.find("logit_bias"); it != body.end() && !it->is_null() && !(it->is_object() && it->empty()))
    return std::unexpected(bad_request("'logit_bias' is not supported", "logit_bias"));
  if (auto it = body.find("user"); it != body.end() && !it->is_null() && !it->is_string())
    return std::unexpected(bad_request("'user' must be a string", "user"));
  return {};
}

// max_tokens against the context; the default fills what is left.
ApiResult<void> set_max_tokens(const OJson& body, CompletionJob& job, const ServeContext& context) {
  API_TRY(max_tokens, integer_field(body, "max_tokens", 1, INT32_MAX));
  API_TRY(max_completion, integer_field(body, "max_completion_tokens", 1, INT32_MAX));
  std::optional<int64_t> wanted = max_completion ? max_completion : max_tokens;
  const int64_t prompt = static_cast<int64_t>(job.prompt.size());
  if (prompt == 0) return std::unexpected(bad_request("the prompt has no tokens", job.chat ? "messages" : "prompt"));
  if (prompt >= context.context || (wanted && prompt + *wanted > context.context))
    return std::unexpected(bad_request(
        fmt::format("This model's maximum context length is {} tokens. However, you requested {} tokens ({} in the "
                    "messages, {} in the completion). Please reduce the length of the messages or completion.",
                    context.context, prompt + wanted.value_or(0), prompt, wanted.value_or(0)),
        job.chat ? "messages" : "prompt", "context_length_exceeded"));
  job.decode.max_tokens = wanted.value_or(context.context - prompt);
  return {};
}

ApiResult<void> set_grammar(CompletionJob& job, const std::string& gbnf, const char* what, const ServeContext& context) {
  auto grammar = Grammar::parse(gbnf, what);
  if (!grammar) return std::unexpected(ApiError{500, fmt::format("{}: {}", what, grammar.error().message), "server_error", "", ""});
  job.grammar = std::make_shared<const Grammar>(std::move(*grammar));
  job.decode.grammar = job.grammar.get();
  job.decode.token_filter = context.token_filter;
  return {};
}

std::vector<int32_t> encode_prompt(const Tokenizer& tok, const std::string& text) {
  std::vector<int32_t> prompt = tok.encode(text, false, /*parse_special=*/true);
  if (tok.add_bos_default() && tok.bos_id() >= 0 && (prompt.empty() || prompt[0] != tok.bos_id()))
    prompt.insert(prompt.begin(), tok.bos_id());
  return prompt;
}

// Messages as the template expects them: content parts joined into text,
// "developer" as "system", tool-call arguments as objects.
ApiResult<OJson> normalise_messages(const OJson& body) {
  auto it = body.find("messages");
  if (it == body.end()) return std::unexpected(bad_request("'messages' is required", "messages"));
  if (!it->is_array() || it->empty())
    return std::unexpected(bad_request("'messages' must be a non-empty array", "messages"));
  static const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool", "function"};
  OJson out = OJson::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const OJson& m = (*it)[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) return std::unexpected(bad_request(where + " must be an object", where));
    auto role = m.find("role");
    if (role == m.end() || !role->is_string() || !kRoles.contains(role->get<std::string>()))
      return std::unexpected(bad_request(
          where + ".role must be one of system, developer, user, assistant, tool", where + ".role"));
    OJson msg = m;
    if (*role == "developer") msg["role"] = "system";
    auto content = m.find("content");
    if (content != m.end() && content->is_array()) {
      std::string text;
      for (const auto& part : *content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          return std::unexpected(bad_request(where + ".content: only text parts ({\"type\": \"text\", \"text\": ...}) "
                                             "are supported", where + ".content"));
        if (!text.empty()) text += "\n";
        text += part["text"].get<std::string>();
      }
      msg["content"] = text;
    } else if (content != m.end() && !content->is_string() && !content->is_null()) {
      return std::unexpected(bad_request(where + ".content must be a string, an array of parts or null", where + ".content"));
    } else if (content == m.end() && *role != "assistant") {
      return std::unexpected(bad_request(where + ".content is required", where + ".content"));
    }
    if (auto calls = m.find("tool_calls"); calls != m.end() && !calls->is_null()) {
      if (!calls->is_array()) return std::unexpected(bad_request(where + ".tool_calls must be an array", where + ".tool_calls"));
      for (auto& call : msg["tool_calls"]) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object() ||
            !call["function"].contains("name") || !call["function"]["name"].is_string())
          return std::unexpected(bad_request(where + ".tool_calls: each call needs function.name", where + ".tool_calls"));
        OJson& args = call["function"]["arguments"];
        if (args.is_string()) {
          OJson parsed = OJson::parse(args.get<std::string>(), nullptr, false);
          if (!parsed.is_discarded()) args = parsed;
        }
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

// The structural checks of a tool's parameters schema.
ApiResult<void> check_schema_shape(const OJson& schema, const std::string& where, int depth = 0) {
  if (depth > 64) return std::unexpected(bad_request(where + ": the schema nests too deeply", where));
  if (schema.is_boolean()) return {};
  if (!schema.is_object()) return std::unexpected(bad_request(where + " must be a JSON Schema object", where));
  static const std::set<std::string> kTypes = {"object", "array", "string", "number", "integer", "boolean", "null"};
  if (auto t = schema.find("type"); t != schema.end()) {
    auto ok = [&](const OJson& v) { return v.is_string() && kTypes.contains(v.get<std::string>()); };
    bool valid = ok(*t);
    if (t->is_array()) {
      valid = !t->empty();
      for (const auto& v : *t) valid = valid && ok(v);
    }
    if (!valid) return std::unexpected(bad_request(where + ".type must name JSON types (object, string, ...)", where));
  }
  if (auto p = schema.find("properties"); p != schema.end()) {
    if (!p->is_object()) return std::unexpected(bad_request(where + ".properties must be an object", where));
    for (const auto& [name, sub] : p->items()) {
      auto ok = check_schema_shape(sub, where + ".properties." + name, depth + 1);
      if (!ok) return ok;
    }
  }
  if (auto r = schema.find("required"); r != schema.end()) {
    bool valid = r->is_array();
    if (valid)
      for (const auto& v : *r) valid = valid && v.is_string();
    if (!valid) return std::unexpected(bad_request(where + ".required must be an array of strings", where));
  }
  if (auto items = schema.find("items"); items != schema.end()) {
    auto ok = check_schema_shape(*items, where + ".items", depth + 1);
    if (!ok) return ok;
  }
  return {};
}

ApiResult<OJson> read_tools(const OJson& body) {
  auto it = body.find("tools");
  if (it == body.end() || it->is_null()) return OJson();
  if (!it->is_array()) return std::unexpected(bad_request("'tools' must be an array", "tools"));
  if (it->size() > 128) return std::unexpected(bad_request("at most 128 tools", "tools"));
  std::set<std::string> names;
  for (size_t i = 0; i < it->size(); ++i) {
    const OJson& tool = (*it)[i];
    const std::string where = fmt::format("tools[{}]", i);
    if (!tool.is_object() || tool.value("type", "function") != "function" || !tool.contains("function") ||
        !tool["function"].is_object())
      return std::unexpected(bad_request(where + " must be {\"type\": \"function\", \"function\": {...}}", where));
    const OJson& fn = tool["function"];
    if (!fn.contains("name") || !fn["name"].is_string() || fn["name"].get<std::string>().empty() ||
        fn["name"].get<std::string>().size() > 64)
      return std::unexpected(bad_request(where + ".function.name must be a string of 1 to 64 characters", where));
    if (!names.insert(fn["name"].get<std::string>()).second)
      return std::unexpected(bad_request(where + ": two tools are named '" + fn["name"].get<std::string>() + "'", where));
    if (fn.contains("parameters")) {
      auto ok = check_schema_shape(fn["parameters"], where + ".function.parameters");
      if (!ok) return std::unexpected(ok.error());
      if (!fn["parameters"].is_object() || fn["parameters"].value("type", "object") != "object")
        return std::unexpected(bad_request(where + ".function.parameters must be an object schema", where));
    }
  }
  return *it;
}

}  // namespace

ApiResult<std::string> request_model(const nlohmann::ordered_json& body) {
  auto it = body.find("model");
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty())
    return std::unexpected(bad_request("'model' must be a non-empty string", "model"));
  return it->get<std::string>();
}

ApiResult<CompletionJob> parse_chat_request(const nlohmann::ordered_json& body, const ServeContext& context) {
  if (!body.is_object()) return std::unexpected(bad_request("the request body must be a JSON object"));
  static const std::set<std::string> kKnown = {
      "model", "messages", "temperature", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty",
      "repeat_penalty", "seed", "n", "stream", "stream_options", "stop", "max_tokens", "max_completion_tokens",
      "logprobs", "top_logprobs", "tools", "tool_choice", "parallel_tool_calls", "response_format", "user",
      "logit_bias", "metadata", "store", "service_tier", "reasoning_effort", "modalities"};
  if (auto ok = check_known_fields(body, kKnown); !ok) return std::unexpected(ok.error());
  CompletionJob job;
  job.chat = true;
  if (auto ok = read_common(body, job, context); !ok) return std::unexpected(ok.error());
  API_TRY(messages, normalise_messages(body));
  API_TRY(tools, read_tools(body));
  API_TRY(logprobs, bool_field(body, "logprobs"));
  job.logprobs = logprobs.value_or(false);
  API_TRY(top, integer_field(body, "top_logprobs", 0, 20));
  if (top && !job.logprobs)
    return std::unexpected(bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs"));
  if (job.logprobs) job.decode.top_logprobs = static_cast<int32_t>(top.value_or(0));

  // tool_choice: "none", "auto", "required" or {"type": "function", "function": {"name": ...}}.
  std::string choice = tools.is_null() ? "none" : "auto";
  std::string only;
  if (auto it = body.find("tool_choice"); it != body.end() && !it->is_null()) {
    if (it->is_string() && (*it == "none" || *it == "auto" || *it == "required")) {
      choice = it->get<std::string>();
    } else if (it->is_object() && it->contains("function") && (*it)["function"].is_object() &&
               (*it)["function"].contains("name") && (*it)["function"]["name"].is_string()) {
      choice = "function";
      only = (*it)["function"]["name"].get<std::string>();
    } else {
      return std::unexpected(bad_request(
          "'tool_choice' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}",
          "tool_choice"));
    }
    if (choice != "none" && tools.is_null())
      return std::unexpected(bad_request("'tool_choice' needs 'tools'", "tool_choice"));
  }
  job.parse_tool_calls = !tools.is_null() && choice != "none";
  if (choice == "required" || choice == "function") {
    auto gbnf = tool_call_gbnf(context.tool_format, tools, only);
    if (!gbnf) return std::unexpected(bad_request(gbnf.error().message, only.empty() ? "tools" : "tool_choice"));
    if (auto ok = set_grammar(job, *gbnf, "tool-call grammar", context); !ok) return std::unexpected(ok.error());
    job.tool_call_forced = true;
  }

  // response_format: text, json_object, json_schema.
  if (auto it = body.find("response_format"); it != body.end() && !it->is_null() && !job.tool_call_forced) {
    if (!it->is_object() || !it->contains("type") || !(*it)["type"].is_string())
      return std::unexpected(bad_request("'response_format' must be {\"type\": \"text\" | \"json_object\" | \"json_schema\"}",
                                         "response_format"));
    const std::string type = (*it)["type"];
    if (type == "json_object") {
      if (auto ok = set_grammar(job, json_object_gbnf(), "json_object grammar", context); !ok)
        return std::unexpected(ok.error());
    } else if (type == "json_schema") {
      auto js = it->find("json_schema");
      if (js == it->end() || !js->is_object() || !js->contains("schema"))
        return std::unexpected(bad_request("'response_format.json_schema' must be {\"name\": ..., \"schema\": {...}}",
                                           "response_format"));
      auto gbnf = json_schema_json_to_gbnf((*js)["schema"], "response_format.json_schema.schema");
      if (!gbnf) return std::unexpected(bad_request(gbnf.error().message, "response_format"));
      if (auto ok = set_grammar(job, *gbnf, "json_schema grammar", context); !ok) return std::unexpected(ok.error());
    } else if (type != "text") {
      return std::unexpected(bad_request("'response_format.type' must be text, json_object or json_schema", "response_format"));
    }
  }

  ChatRenderOptions options = context.render;
  options.add_generation_prompt = true;
  auto text = context.chat_template->render(messages, choice == "none" ? OJson() : tools, options);
  if (!text) return std::unexpected(bad_request("the chat template refused the messages: " + text.error().message, "messages"));
  job.prompt = encode_prompt(context.model->tokenizer(), *text);
  if (auto ok = set_max_tokens(body, job, context); !ok) return std::unexpected(ok.error());
  return job;
}

ApiResult<CompletionJob> parse_completion_request(const nlohmann::ordered_json& body, const ServeContext& context) {
  if (!body.is_object()) return std::unexpected(bad_request("the request body must be a JSON object"));
  static const std::set<std::string> kKnown = {
      "model", "prompt", "temperature", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty",
      "repeat_penalty", "seed", "n", "stream", "stream_options", "stop", "max_tokens", "logprobs", "echo", "suffix",
      "best_of", "user", "logit_bias"};
  if (auto ok = check_known_fields(body, kKnown); !ok) return std::unexpected(ok.error());
  CompletionJob job;
  job.chat = false;
  if (auto ok = read_common(body, job, context); !ok) return std::unexpected(ok.error());
  auto it = body.find("prompt");
  if (it == body.end()) return std::unexpected(bad_request("'prompt' is required", "prompt"));
  const Tokenizer& tok = context.model->tokenizer();
  if (it->is_string()) {
    job.prompt = encode_prompt(tok, it->get<std::string>());
  } else if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
    job.prompt = encode_prompt(tok, (*it)[0].get<std::string>());
  } else if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) {
    for (const auto& t : *it) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok.vocab_size())
        return std::unexpected(bad_request(fmt::format("'prompt' token ids must be integers in [0, {})", tok.vocab_size()),
                                           "prompt"));
      job.prompt.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
  } else {
    return std::unexpected(bad_request("'prompt' must be a string, a one-string array or an array of token ids", "prompt"));
  }
  API_TRY(logprobs, integer_field(body, "logprobs", 0, 5));
  if (logprobs) {
    job.logprobs = true;
    job.decode.top_logprobs = static_cast<int32_t>(*logprobs);
  }
  API_TRY(echo, bool_field(body, "echo"));
  if (echo.value_or(false)) return std::unexpected(bad_request("'echo' is not supported", "echo"));
  if (auto s = body.find("suffix"); s != body.end() && !s->is_null())
    return std::unexpected(bad_request("'suffix' is not supported", "suffix"));
  API_TRY(best_of, integer_field(body, "best_of", 1, 1));
  (void)best_of;
  if (auto ok = set_max_tokens(body, job, context); !ok) return std::unexpected(ok.error());
  // The legacy endpoint's default is 16 tokens.
  if (!body.contains("max_tokens") || body["max_tokens"].is_null())
    job.decode.max_tokens = std::min<int64_t>(16, context.context - static_cast<int64_t>(job.prompt.size()));
  return job;
}

}  // namespace officina
