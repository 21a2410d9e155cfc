// Fuzzes the fine-tuning upload check (platform/finetune_file_check.h): the
// input is an uploaded JSONL file, fed to one checker in pieces of
// pseudo-random sizes and to another whole. Any input must give a report or
// an error, never a crash, and both checkers must agree exactly (where the
// upload's pieces break must not matter). The tokenizer and chat template are
// the conformance tiny-gqa model's (OFFICINA_CONFORMANCE_DIR or the path
// compiled in), as the trainer would use them.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "model/model.h"
#include "model/model_chat_template.h"
#include "platform/finetune_file_check.h"

namespace {

struct Setup {
  std::unique_ptr<officina::Model> model;
  std::unique_ptr<officina::ChatTemplate> tmpl;
  officina::FileCheckOptions options;
  Setup() {
    const char* dir = std::getenv("OFFICINA_CONFORMANCE_DIR");
    std::string path = std::string(dir && *dir ? dir : OFFICINA_DEFAULT_CONFORMANCE_DIR) + "/models/tiny-gqa.gguf";
    auto loaded = officina::Model::load(path);
    if (!loaded) {
      std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
      std::abort();
    }
    model = std::move(*loaded);
    auto t = officina::model_chat_template(*model);
    if (!t) std::abort();
    tmpl = std::make_unique<officina::ChatTemplate>(t->tmpl);
    options.tokenizer = &model->tokenizer();
    options.chat_template = tmpl.get();
    options.render = officina::chat_render_options(*model);
    // Small limits so that truncation, dropping and the line limits are all
    // reachable from short inputs.
    options.seq_len = 48;
    options.max_lines = 200;
    options.max_line_bytes = 4096;
    options.max_messages = 64;
  }
};

// The outcome as one comparable string.
std::string outcome(const officina::Result<officina::FileCheckReport>& r) {
  return r ? r->to_json().dump() : "error: " + r.error().message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Setup setup;
  if (size > (1u << 16)) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  officina::FineTuneFileChecker whole(setup.options);
  auto fed = whole.feed(text);
  const std::string expected = outcome(fed ? whole.finish() : std::unexpected(fed.error()));

  // Piece sizes from a hash of the input, so a crash reproduces from its file.
  uint64_t state = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) state = (state ^ data[i]) * 1099511628211ull;
  officina::FineTuneFileChecker pieces(setup.options);
  officina::Result<void> step;
  for (size_t pos = 0; pos < size && step;) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const size_t n = std::min<size_t>(size - pos, (state >> 33) % 97);
    step = pieces.feed(text.substr(pos, n));
    pos += n;
  }
  const std::string got = outcome(step ? pieces.finish() : std::unexpected(step.error()));
  if (got != expected) {
    std::fprintf(stderr, "whole: %s\npieces: %s\n", expected.c_str(), got.c_str());
    std::abort();
  }
  return 0;
}
