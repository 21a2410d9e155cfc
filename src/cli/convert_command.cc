// officina convert MODEL OUT.gguf [--type T]: Hugging Face directory (or GGUF)
// to a GGUF file that officina and llama.cpp load.
#include <memory>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "model/gguf_export.h"

namespace officina::cli {

namespace {
struct ConvertArgs {
  std::string in, out, type;
};

void run_convert(const ConvertArgs& a) {
  auto model = Model::load(a.in);
  if (!model) return report(model.error());
  auto tokenizer_meta = tokenizer_gguf_metadata(**model);
  if (!tokenizer_meta) return report(tokenizer_meta.error());
  GgufExportOptions options;
  options.name = (*model)->name();
  if (!a.type.empty()) {
    auto type = dtype_from_name(a.type);
    if (!type) return report(type.error());
    options.matrix_type = *type;
  }
  const Model& m = **model;
  if (auto ok = write_llama_gguf(m.config(), m.weights(), *tokenizer_meta, options, a.out); !ok)
    return report(ok.error());
  fmt::print(stderr, "wrote {}\n", a.out);
}
}  // namespace

void add_convert_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "Convert a Hugging Face checkpoint directory to GGUF");
  auto a = std::make_shared<ConvertArgs>();
  cmd->add_option("model", a->in, "a Hugging Face directory (or a .gguf file)")->required();
  cmd->add_option("out", a->out, "the .gguf file to write")->required();
  cmd->add_option("--type", a->type, "matrix type: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K (default: as stored)");
  cmd->callback([a] { run_convert(*a); });
}

}  // namespace officina::cli
