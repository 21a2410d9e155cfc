// Fuzzes the OpenAI request readers (chat and completions) with arbitrary
// JSON bodies against a real model's template and tokenizer: any input must
// give a job or an ApiError, never a crash. The model is the conformance
// tiny-gqa (OFFICINA_CONFORMANCE_DIR or the path compiled in).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model_chat_template.h"
#include "serve/openai_request.h"

namespace {

struct Setup {
  std::unique_ptr<officina::Model> model;
  std::optional<officina::ModelChatTemplate> tmpl;
  std::unique_ptr<officina::GrammarTokenFilter> filter;
  officina::ServeContext context;
  Setup() {
    const char* dir = std::getenv("OFFICINA_CONFORMANCE_DIR");
    std::string path = std::string(dir && *dir ? dir : OFFICINA_DEFAULT_CONFORMANCE_DIR) + "/models/tiny-gqa.gguf";
    auto loaded = officina::Model::load(path);
    if (!loaded) std::abort();
    model = std::move(*loaded);
    auto t = officina::model_chat_template(*model);
    if (!t) std::abort();
    tmpl = std::move(*t);
    filter = std::make_unique<officina::GrammarTokenFilter>(model->tokenizer());
    context.model = model.get();
    context.chat_template = &tmpl->tmpl;
    context.render = officina::chat_render_options(*model);
    context.tool_format = officina::detect_tool_call_format(tmpl->tmpl.source());
    context.token_filter = filter.get();
    context.context = 512;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Setup setup;
  if (size > (1u << 16)) return 0;
  auto body = nlohmann::ordered_json::parse(data, data + size, nullptr, false);
  if (body.is_discarded()) return 0;
  auto chat = officina::parse_chat_request(body, setup.context);
  if (!chat && chat.error().json().empty()) std::abort();
  auto completion = officina::parse_completion_request(body, setup.context);
  if (!completion && completion.error().json().empty()) std::abort();
  return 0;
}
