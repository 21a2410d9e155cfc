// officina tokenize (-m MODEL | --tokenizer tokenizer.json) -p TEXT [--no-bos]
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "model/model.h"

namespace officina::cli {

namespace {
struct TokenizeArgs {
  std::string model, tokenizer_json, prompt;
  bool no_bos = false;
};

void run_tokenize(const TokenizeArgs& a) {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> own;
  const Tokenizer* tok = nullptr;
  if (!a.tokenizer_json.empty()) {
    // tokenizer_config.json beside it says whether to add BOS.
    std::string config = (std::filesystem::path(a.tokenizer_json).parent_path() / "tokenizer_config.json").string();
    auto t = Tokenizer::from_json_files(a.tokenizer_json, std::filesystem::exists(config) ? config : "");
    if (!t) return report(t.error());
    own = std::make_unique<Tokenizer>(std::move(*t));
    tok = own.get();
  } else {
    auto m = Model::load(a.model);
    if (!m) return report(m.error());
    model = std::move(*m);
    tok = &model->tokenizer();
  }
  std::vector<int32_t> ids = tok->encode(a.prompt, !a.no_bos && tok->add_bos_default());
  fmt::print("[{}]\n", fmt::join(ids, ", "));
}
}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text as one JSON array");
  auto a = std::make_shared<TokenizeArgs>();
  auto* m = cmd->add_option("-m,--model", a->model, "a .gguf file or a Hugging Face directory");
  auto* t = cmd->add_option("--tokenizer", a->tokenizer_json, "a Hugging Face tokenizer.json");
  m->excludes(t);
  cmd->add_option("-p,--prompt", a->prompt, "the text")->required();
  cmd->add_flag("--no-bos", a->no_bos, "do not add the BOS token");
  cmd->callback([a, cmd] {
    if (a->model.empty() && a->tokenizer_json.empty())
      return report(Error{"tokenize: give -m MODEL or --tokenizer tokenizer.json"});
    run_tokenize(*a);
  });
}

}  // namespace officina::cli
