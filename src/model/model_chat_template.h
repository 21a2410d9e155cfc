// Finds the chat template a model was trained with: GGUF
// `tokenizer.chat_template` (or `tokenizer.chat_template.NAME`), or in a
// Hugging Face directory `chat_template.jinja`, `chat_template.json` or the
// `chat_template` of tokenizer_config.json (a string or a list of named
// templates). Models without one get the fallback that matches their
// vocabulary (ChatML, Llama-3 or Mistral). Also gives the BOS/EOS texts the
// template receives.
// Thread-safety: pure functions over an immutable Model.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "model/model.h"
#include "text/chat_template.h"

namespace officina {

struct ModelChatTemplate {
  ChatTemplate tmpl;
  std::string origin;  // "tokenizer.chat_template", "tokenizer_config.json", "fallback chatml", a file path
};

// `override_file` (the --chat-template option) wins when not empty; `name`
// picks a named template ("" = default). Fails when the template does not
// parse or a named template is missing.
Result<ModelChatTemplate> model_chat_template(const Model& model, std::string_view name = "",
                                              const std::string& override_file = "");

// The template text stored with the model, if any ("" = default name).
Result<std::optional<std::string>> stored_chat_template(const Model& model, std::string_view name = "");

// bos_token / eos_token texts for rendering (empty when the model has none).
ChatRenderOptions chat_render_options(const Model& model);

// Reads a template file (at most 1 MiB).
Result<ChatTemplate> load_chat_template_file(const std::string& path);

}  // namespace officina
