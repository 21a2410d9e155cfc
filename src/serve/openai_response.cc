#include "serve/openai_response.h"

#include <atomic>
#include <chrono>
#include <random>

#include <fmt/format.h>

namespace officina {

using OJson = nlohmann::ordered_json;

std::string random_id(const std::string& prefix) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return fmt::format("{}{:016x}{:08x}", prefix, rng(), static_cast<uint32_t>(counter++));
}

OJson usage_json(int64_t prompt, int64_t completion, int64_t cached) {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

namespace {
OJson bytes_json(const std::string& s) {
  OJson out = OJson::array();
  for (unsigned char c : s) out.push_back(static_cast<int>(c));
  return out;
}
}  // namespace

OJson logprobs_json(const std::vector<SequenceEvent>& tokens, const Tokenizer& tokenizer, bool chat) {
  if (chat) {
    OJson content = OJson::array();
    for (const auto& e : tokens) {
      if (!e.logprob) continue;
      const std::string text = tokenizer.token_bytes(e.token);
      OJson top = OJson::array();
      for (const auto& t : e.top) {
        const std::string alt = tokenizer.token_bytes(t.token);
        top.push_back({{"token", alt}, {"logprob", t.logprob}, {"bytes", bytes_json(alt)}});
      }
      content.push_back({{"token", text}, {"logprob", e.logprob->logprob}, {"bytes", bytes_json(text)}, {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  OJson toks = OJson::array(), lps = OJson::array(), tops = OJson::array(), offsets = OJson::array();
  int64_t offset = 0;
  for (const auto& e : tokens) {
    if (!e.logprob) continue;
    const std::string text = tokenizer.token_bytes(e.token);
    toks.push_back(text);
    lps.push_back(e.logprob->logprob);
    OJson top = OJson::object();
    for (const auto& t : e.top) top[tokenizer.token_bytes(t.token)] = t.logprob;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += static_cast<int64_t>(text.size());
  }
  return {{"tokens", toks}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

OJson chat_message_json(const CompletionJob& job, ToolCallFormat format, const ChoiceResult& choice,
                        std::string& finish_reason) {
  finish_reason = choice.finish;
  OJson message = {{"role", "assistant"}};
  if (job.parse_tool_calls) {
    AssistantReply reply = parse_tool_calls(choice.text, format);
    if (!reply.tool_calls.empty()) {
      OJson calls = OJson::array();
      for (const auto& call : reply.tool_calls)
        calls.push_back({{"id", call.id},
                         {"type", "function"},
                         {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
      message["content"] = reply.content.empty() ? OJson() : OJson(reply.content);
      message["tool_calls"] = calls;
      if (finish_reason == "stop") finish_reason = "tool_calls";
      return message;
    }
  }
  message["content"] = choice.text;
  return message;
}

OJson chat_completion_json(const CompletionJob& job, const ResponseMeta& meta, ToolCallFormat format,
                           const std::vector<ChoiceResult>& choices, const Tokenizer& tokenizer) {
  OJson out = {{"id", meta.id}, {"object", "chat.completion"}, {"created", meta.created}, {"model", meta.model}};
  OJson list = OJson::array();
  int64_t completion = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    std::string finish;
    OJson message = chat_message_json(job, format, choices[i], finish);
    list.push_back({{"index", i},
                    {"message", message},
                    {"logprobs", job.logprobs ? logprobs_json(choices[i].tokens, tokenizer, true) : OJson()},
                    {"finish_reason", finish}});
    completion += choices[i].completion_tokens;
  }
  out["choices"] = list;
  const int64_t prompt = choices.empty() ? 0 : choices[0].prompt_tokens;
  const int64_t cached = choices.empty() ? 0 : choices[0].cached_tokens;
  out["usage"] = usage_json(prompt, completion, cached);
  out["system_fingerprint"] = "officina";
  return out;
}

OJson text_completion_json(const CompletionJob& job, const ResponseMeta& meta, const std::vector<ChoiceResult>& choices,
                           const Tokenizer& tokenizer) {
  OJson out = {{"id", meta.id}, {"object", "text_completion"}, {"created", meta.created}, {"model", meta.model}};
  OJson list = OJson::array();
  int64_t completion = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    list.push_back({{"text", choices[i].text},
                    {"index", i},
                    {"logprobs", job.logprobs ? logprobs_json(choices[i].tokens, tokenizer, false) : OJson()},
                    {"finish_reason", choices[i].finish}});
    completion += choices[i].completion_tokens;
  }
  out["choices"] = list;
  out["usage"] = usage_json(choices.empty() ? 0 : choices[0].prompt_tokens, completion,
                            choices.empty() ? 0 : choices[0].cached_tokens);
  out["system_fingerprint"] = "officina";
  return out;
}

OJson chat_chunk_json(const ResponseMeta& meta, int index, OJson delta, const std::string& finish_reason, OJson logprobs) {
  OJson choice = {{"index", index}, {"delta", std::move(delta)}, {"logprobs", std::move(logprobs)},
                  {"finish_reason", finish_reason.empty() ? OJson() : OJson(finish_reason)}};
  return {{"id", meta.id},           {"object", "chat.completion.chunk"}, {"created", meta.created},
          {"model", meta.model},     {"system_fingerprint", "officina"},  {"choices", OJson::array({choice})}};
}

OJson text_chunk_json(const ResponseMeta& meta, int index, const std::string& text, const std::string& finish_reason,
                      OJson logprobs) {
  OJson choice = {{"text", text}, {"index", index}, {"logprobs", std::move(logprobs)},
                  {"finish_reason", finish_reason.empty() ? OJson() : OJson(finish_reason)}};
  return {{"id", meta.id}, {"object", "text_completion"}, {"created", meta.created}, {"model", meta.model},
          {"choices", OJson::array({choice})}};
}

}  // namespace officina
