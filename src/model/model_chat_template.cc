#include "model/model_chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/json_util.h"
#include "formats/gguf_file.h"
#include "formats/hf_checkpoint.h"

namespace officina {
namespace {

Result<std::string> read_small_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail("{}: cannot read ({})", path, ec.message());
  if (size > max_bytes) return fail("{}: larger than {} bytes", path, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<ChatTemplate> load_chat_template_file(const std::string& path) {
  OFFICINA_TRY(std::string source, read_small_file(path, 1u << 20));
  return ChatTemplate::parse(source, std::filesystem::path(path).filename().string());
}

Result<std::optional<std::string>> stored_chat_template(const Model& model, std::string_view name) {
  if (const GgufFile* g = model.gguf()) {
    std::string key = name.empty() || name == "default" ? "tokenizer.chat_template"
                                                        : "tokenizer.chat_template." + std::string(name);
    const GgufValue* v = g->find(key);
    if (!v) return std::optional<std::string>{};
    OFFICINA_TRY(std::string text, v->as_string(key));
    return std::optional<std::string>(std::move(text));
  }
  if (const HfCheckpoint* hf = model.hf()) {
    std::filesystem::path dir = model.path();
    if (name.empty() || name == "default") {
      if (auto jinja = dir / "chat_template.jinja"; std::filesystem::is_regular_file(jinja)) {
        OFFICINA_TRY(std::string text, read_small_file(jinja.string(), 1u << 20));
        return std::optional<std::string>(std::move(text));
      }
    }
    if (auto json = dir / "chat_template.json"; std::filesystem::is_regular_file(json)) {
      OFFICINA_TRY(Json j, read_json_file(json.string(), 4u << 20));
      if (j.is_object() && j.contains("chat_template"))
        if (auto t = chat_template_from_config(j["chat_template"], name)) return std::optional<std::string>(*t);
    }
    if (!hf->tokenizer_config_path().empty()) {
      OFFICINA_TRY(Json config, read_json_file(hf->tokenizer_config_path(), 64u << 20));
      if (config.is_object() && config.contains("chat_template"))
        if (auto t = chat_template_from_config(config["chat_template"], name)) return std::optional<std::string>(*t);
    }
  }
  return std::optional<std::string>{};
}

Result<ModelChatTemplate> model_chat_template(const Model& model, std::string_view name,
                                              const std::string& override_file) {
  if (!override_file.empty()) {
    OFFICINA_TRY(ChatTemplate t, load_chat_template_file(override_file));
    return ModelChatTemplate{std::move(t), override_file};
  }
  OFFICINA_TRY(std::optional<std::string> stored, stored_chat_template(model, name));
  if (stored) {
    std::string origin = model.gguf() ? "tokenizer.chat_template" : "tokenizer_config.json";
    auto parsed = ChatTemplate::parse(*stored, model.name() + " chat template");
    if (!parsed) return wrap(parsed.error(), model.path());
    return ModelChatTemplate{std::move(*parsed), origin};
  }
  if (!name.empty() && name != "default") return fail("{}: the model has no chat template named '{}'", model.path(), name);
  const Tokenizer& tok = model.tokenizer();
  FallbackTemplate which = choose_fallback_template(tok.token_id("<|im_start|>").has_value(),
                                                    tok.token_id("<|start_header_id|>").has_value(),
                                                    tok.token_id("[INST]").has_value());
  OFFICINA_TRY(ChatTemplate t, ChatTemplate::parse(fallback_template_source(which), fallback_template_name(which)));
  return ModelChatTemplate{std::move(t), "fallback " + std::string(fallback_template_name(which))};
}

ChatRenderOptions chat_render_options(const Model& model) {
  ChatRenderOptions options;
  const Tokenizer& tok = model.tokenizer();
  options.bos_token = tok.bos_id() >= 0 ? tok.token_text(tok.bos_id()) : "";
  options.eos_token = tok.eos_id() >= 0 ? tok.token_text(tok.eos_id()) : "";
  return options;
}

}  // namespace officina
