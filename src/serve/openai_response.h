// Writing OpenAI responses: chat.completion and chat.completion.chunk
// objects (tool calls read out of the text when tools were offered),
// text_completion objects and their stream chunks, logprobs in both
// endpoints' shapes, usage.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/openai_request.h"
#include "serve/scheduler.h"
#include "text/tokenizer.h"

namespace officina {

struct ChoiceResult {
  std::string text;
  std::string finish;                  // "stop", "length", ...
  std::vector<SequenceEvent> tokens;   // token events (for logprobs)
  int64_t completion_tokens = 0;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
};

struct ResponseMeta {
  std::string id;      // chatcmpl-... / cmpl-...
  int64_t created = 0;  // unix seconds
  std::string model;
};

nlohmann::ordered_json usage_json(int64_t prompt, int64_t completion, int64_t cached);
// Chat logprobs {"content": [...]} or completion logprobs {"tokens", "token_logprobs", "top_logprobs", "text_offset"}.
nlohmann::ordered_json logprobs_json(const std::vector<SequenceEvent>& tokens, const Tokenizer& tokenizer, bool chat);

// The message of one choice: content, or tool_calls when the job parses
// them and the text holds calls ("finish_reason" becomes "tool_calls").
nlohmann::ordered_json chat_message_json(const CompletionJob& job, ToolCallFormat format, const ChoiceResult& choice,
                                         std::string& finish_reason);

nlohmann::ordered_json chat_completion_json(const CompletionJob& job, const ResponseMeta& meta, ToolCallFormat format,
                                            const std::vector<ChoiceResult>& choices, const Tokenizer& tokenizer);
nlohmann::ordered_json text_completion_json(const CompletionJob& job, const ResponseMeta& meta,
                                            const std::vector<ChoiceResult>& choices, const Tokenizer& tokenizer);

// One stream chunk: chat (`delta` object) or text completion (`text`).
nlohmann::ordered_json chat_chunk_json(const ResponseMeta& meta, int index, nlohmann::ordered_json delta,
                                       const std::string& finish_reason, nlohmann::ordered_json logprobs = nullptr);
nlohmann::ordered_json text_chunk_json(const ResponseMeta& meta, int index, const std::string& text,
                                       const std::string& finish_reason, nlohmann::ordered_json logprobs = nullptr);

// Random hex for ids ("chatcmpl-" + 24 hex digits).
std::string random_id(const std::string& prefix);

}  // namespace officina
