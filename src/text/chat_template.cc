#include "text/chat_template.h"

#include <cstring>

#include "text/jinja_interpreter.h"
#include "text/jinja_parser.h"

namespace officina {

Result<ChatTemplate> ChatTemplate::parse(std::string_view source, std::string_view name) {
  OFFICINA_TRY(jinja::Template tree, jinja::parse_template(source, name));
  ChatTemplate out;
  out.source_ = std::make_shared<const std::string>(source);
  out.tree_ = std::make_shared<const jinja::Template>(std::move(tree));
  return out;
}

const std::string& ChatTemplate::name() const { return tree_->name; }

Result<std::string> ChatTemplate::render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                         const ChatRenderOptions& options) const {
  OFFICINA_TRY(ChatRendering r, render_with_spans(messages, tools, options));
  return std::move(r.text);
}

Result<ChatRendering> ChatTemplate::render_with_spans(const nlohmann::ordered_json& messages,
                                                      const nlohmann::ordered_json& tools,
                                                      const ChatRenderOptions& options) const {
  if (!messages.is_array()) return fail("messages must be a JSON array of {{\"role\", \"content\"}} objects");
  if (!tools.is_null() && !tools.is_array()) return fail("tools must be a JSON array or null");
  jinja::Interpreter interp(*tree_);
  if (options.now) interp.set_now(*options.now);
  interp.set_variable("messages", jinja::Value::from_json(messages));
  // Like the reference renderings, tools is left undefined when there are none.
  if (!tools.is_null()) interp.set_variable("tools", jinja::Value::from_json(tools));
  interp.set_variable("add_generation_prompt", jinja::Value(options.add_generation_prompt));
  interp.set_variable("bos_token", jinja::Value(options.bos_token));
  interp.set_variable("eos_token", jinja::Value(options.eos_token));
  if (options.extra.is_object())
    for (const auto& [key, value] : options.extra.items()) interp.set_variable(key, jinja::Value::from_json(value));
  OFFICINA_TRY(std::string text, interp.render());
  ChatRendering out;
  out.text = std::move(text);
  for (const auto& span : interp.generation_spans()) out.generation_spans.emplace_back(span.begin, span.end);
  return out;
}

std::optional<std::string> chat_template_from_config(const nlohmann::json& chat_template, std::string_view name) {
  const std::string wanted = name.empty() ? "default" : std::string(name);
  if (chat_template.is_string()) {
    if (wanted == "default") return chat_template.get<std::string>();
    return std::nullopt;
  }
  if (!chat_template.is_array()) return std::nullopt;
  for (const auto& entry : chat_template) {
    if (!entry.is_object()) continue;
    auto n = entry.find("name");
    auto t = entry.find("template");
    if (n != entry.end() && t != entry.end() && n->is_string() && t->is_string() && n->get<std::string>() == wanted)
      return t->get<std::string>();
  }
  return std::nullopt;
}

Result<std::tm> parse_template_date(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  const char* end = strptime(s.c_str(), "%d %b %Y", &tm);
  if (!end || *end != '\0') {
    tm = {};
    end = strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || *end != '\0') return fail("--date '{}': expected a date like \"24 Nov 2026\" or \"2026-11-24\"", text);
  tm.tm_isdst = -1;
  std::time_t t = timegm(&tm);  // normalises tm_wday / tm_yday for %A, %j, ...
  gmtime_r(&t, &tm);
  return tm;
}

FallbackTemplate choose_fallback_template(bool has_im_start, bool has_header_id, bool has_inst) {
  if (has_im_start) return FallbackTemplate::ChatML;
  if (has_header_id) return FallbackTemplate::Llama3;
  if (has_inst) return FallbackTemplate::Mistral;
  return FallbackTemplate::ChatML;
}

std::string_view fallback_template_name(FallbackTemplate which) {
  switch (which) {
    case FallbackTemplate::ChatML: return "chatml";
    case FallbackTemplate::Llama3: return "llama3";
    case FallbackTemplate::Mistral: return "mistral";
  }
  return "chatml";
}

}  // namespace officina
