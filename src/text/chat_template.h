// Chat templates: turning a conversation (OpenAI-style messages, optional
// tools) into the exact prompt text a model was trained on, by running the
// model's own Jinja template (tokenizer_config.json `chat_template` or GGUF
// `tokenizer.chat_template`) with the variables and settings Hugging Face's
// apply_chat_template uses: messages, tools (undefined when absent),
// add_generation_prompt, bos_token, eos_token, raise_exception,
// strftime_now, trim_blocks and lstrip_blocks. Models without a template get
// a fallback (ChatML, Llama-3 or Mistral, chosen from the vocabulary).
// Thread-safety: a ChatTemplate is immutable after parse(); render() may be
// called from several threads at once.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace officina {

namespace jinja {
struct Template;
}

struct ChatRenderOptions {
  bool add_generation_prompt = false;
  std::string bos_token = "<s>";
  std::string eos_token = "</s>";
  std::optional<std::tm> now;  // what strftime_now() formats; the local time when unset
  // More template variables (documents, enable_thinking, date_string, ...).
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

struct ChatRendering {
  std::string text;
  // Byte ranges of the text inside {% generation %} blocks (the assistant's
  // words in templates that mark them), for training masks.
  std::vector<std::pair<size_t, size_t>> generation_spans;
};

class ChatTemplate {
 public:
  // Parses the template; "NAME:LINE:COLUMN: message" on syntax errors.
  static Result<ChatTemplate> parse(std::string_view source, std::string_view name = "chat_template");

  // messages: a JSON array of {"role", "content", ...}; tools: null or a
  // JSON array of OpenAI tool definitions. Fails with the template's own
  // message when it calls raise_exception() (then raised_by_template is set
  // in the error text's absence of a location), or "NAME:LINE:COLUMN: ..."
  // for errors of the template language.
  Result<std::string> render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                             const ChatRenderOptions& options) const;
  Result<ChatRendering> render_with_spans(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                          const ChatRenderOptions& options) const;

  const std::string& source() const { return *source_; }
  const std::string& name() const;

 private:
  std::shared_ptr<const std::string> source_;
  std::shared_ptr<const jinja::Template> tree_;
};

enum class FallbackTemplate { ChatML, Llama3, Mistral };
std::string_view fallback_template_name(FallbackTemplate which);  // "chatml", "llama3", "mistral"
std::string_view fallback_template_source(FallbackTemplate which);
// Picks the fallback a model's vocabulary was made for: <|im_start|> →
// ChatML, <|start_header_id|> → Llama-3, [INST] → Mistral, else ChatML.
FallbackTemplate choose_fallback_template(bool has_im_start, bool has_header_id, bool has_inst);

// The template named `name` ("default" when empty) from a tokenizer_config.json
// `chat_template` value: a string, or a list of {"name", "template"}.
// nullopt when there is none of that name.
std::optional<std::string> chat_template_from_config(const nlohmann::json& chat_template, std::string_view name = "");

// Parses a date like "24 Nov 2026" (the --date option) into a std::tm.
Result<std::tm> parse_template_date(std::string_view text);

}  // namespace officina
