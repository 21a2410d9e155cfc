// Reading OpenAI requests (POST /v1/chat/completions and /v1/completions)
// into a CompletionJob the scheduler can run: the prompt tokens (chat
// messages rendered with the model's template, tools included), sampling
// parameters, stop strings, log-probabilities, and the grammar that holds the
// output to a forced tool call or a response_format. Every field is checked
// for its type and range; unknown fields are refused, as OpenAI does. Errors
// are 400s naming the parameter ("'temperature' must be a number in [0, 2]").
// Thread-safety: pure functions over an immutable ServeContext.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "generate/sequence_decoder.h"
#include "model/model.h"
#include "serve/api_error.h"
#include "text/chat_template.h"
#include "text/grammar.h"
#include "text/grammar_token_filter.h"
#include "text/tool_call_parser.h"

namespace officina {

struct ServeContext {
  const Model* model = nullptr;
  const ChatTemplate* chat_template = nullptr;
  ChatRenderOptions render;  // bos/eos texts
  ToolCallFormat tool_format = ToolCallFormat::Generic;
  const GrammarTokenFilter* token_filter = nullptr;
  int64_t context = 4096;  // positions per sequence
  int max_n = 8;           // most choices per request
};

struct CompletionJob {
  bool chat = true;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string model;           // as the request named it
  std::vector<int32_t> prompt;
  DecodeOptions decode;        // grammar / token_filter point into this job and the context
  std::shared_ptr<const Grammar> grammar;
  int n = 1;
  std::optional<uint64_t> seed;
  bool logprobs = false;
  bool parse_tool_calls = false;  // tools offered (tool_choice not "none"): read calls out of the text
  bool tool_call_forced = false;  // "required" or a named function
};

// `body` is the parsed JSON request.
ApiResult<CompletionJob> parse_chat_request(const nlohmann::ordered_json& body, const ServeContext& context);
ApiResult<CompletionJob> parse_completion_request(const nlohmann::ordered_json& body, const ServeContext& context);

// The "model" field: a non-empty string (400 otherwise).
ApiResult<std::string> request_model(const nlohmann::ordered_json& body);

}  // namespace officina
