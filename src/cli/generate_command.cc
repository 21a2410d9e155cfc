// officina generate -m MODEL -p PROMPT -n N [sampling options] [--threads N]
//                   [--grammar FILE.gbnf | --json-schema FILE.json] [--lora PATH[:SCALE]]...
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/generation_options.h"
#include "base/mapped_file.h"
#include "generate/generator.h"
#include "text/json_schema_grammar.h"

namespace officina::cli {

namespace {
struct GenerateArgs {
  std::string model, prompt;
  std::string grammar_file, json_schema_file;
  std::vector<std::string> lora;
  int64_t n = 64;
  int64_t ctx = 0;
  int threads = 0;
  bool no_bos = false;
  bool ignore_eos = false;
  bool quiet = false;
  SamplingParams sampling;
};

// The grammar of --grammar or --json-schema (nullopt when neither is given).
Result<std::optional<Grammar>> load_grammar(const GenerateArgs& a) {
  const std::string& path = a.grammar_file.empty() ? a.json_schema_file : a.grammar_file;
  if (path.empty()) return std::optional<Grammar>{};
  OFFICINA_TRY(std::string text, read_text_file(path, 1u << 20));
  OFFICINA_TRY(Grammar grammar, a.grammar_file.empty() ? json_schema_grammar(text, path) : Grammar::parse(text, path));
  return std::optional<Grammar>(std::move(grammar));
}

void run_generate(const GenerateArgs& a) {
  // The grammar first: a typo in it should not wait for the model to load.
  auto grammar = load_grammar(a);
  if (!grammar) return report(grammar.error());
  auto loaded = Model::load(a.model);
  if (!loaded) return report(loaded.error());
  const Model& model = **loaded;
  std::vector<int32_t> prompt = model.tokenizer().encode(a.prompt, !a.no_bos && model.tokenizer().add_bos_default());
  if (prompt.empty()) return report(Error{"generate: the prompt is empty; give -p TEXT"});
  int64_t ctx = a.ctx > 0 ? a.ctx : std::min<int64_t>(model.config().context_length,
                                                      static_cast<int64_t>(prompt.size()) + a.n + 1);
  auto cache = KvCache::create(model.config(), 1, ctx, default_kv_precision(model));
  if (!cache) return report(cache.error());
  auto adapter = load_lora_options(a.lora, model.config());
  if (!adapter) return report(adapter.error());
  ThreadPool pool(a.threads);
  Transformer transformer(model, pool);
  GenerateOptions options;
  use_adapter(*adapter, transformer, options);
  options.max_tokens = a.n;
  options.sampling = a.sampling;
  options.stop_at_end_of_generation = !a.ignore_eos;
  if (*grammar) options.grammar = &**grammar;
  if (!a.quiet) {
    std::fputs(a.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  auto result = generate(transformer, *cache, 0, prompt, options, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::fputc('\n', stdout);
  if (!result) return report(result.error());
  if (*grammar && !result->grammar_complete)
    std::fprintf(stderr, "note: the output stopped before the grammar was complete (raise -n)\n");
  if (!a.quiet) {
    double pp = result->prompt_seconds > 0 ? result->prompt_tokens / result->prompt_seconds : 0;
    double tg = result->generate_seconds > 0 ? result->tokens.size() / result->generate_seconds : 0;
    std::fprintf(stderr, "\nprompt: %lld tokens, %.1f tok/s | generated: %zu tokens, %.1f tok/s | finish: %s\n",
                 static_cast<long long>(result->prompt_tokens), pp, result->tokens.size(), tg,
                 std::string(finish_reason_name(result->finish)).c_str());
  }
}
}  // namespace

void add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt, streaming it as it is produced");
  auto a = std::make_shared<GenerateArgs>();
  SamplingParams& s = a->sampling;
  cmd->add_option("-m,--model", a->model, "a .gguf file or a Hugging Face directory")->required();
  cmd->add_option("-p,--prompt", a->prompt, "the prompt")->required();
  cmd->add_option("-n,--n-predict", a->n, "tokens to generate")->capture_default_str()->check(CLI::Range(0, 1 << 20));
  add_sampling_options(cmd, s);
  cmd->add_option("--lora", a->lora, "apply a LoRA adapter: PEFT dir or GGUF, PATH[:SCALE] (repeatable)");
  cmd->add_option("-t,--threads", a->threads, "threads (default: all cores)");
  cmd->add_option("-c,--ctx", a->ctx, "context size (default: prompt + n)");
  auto* grammar = cmd->add_option("--grammar", a->grammar_file, "hold the output to a GBNF grammar (docs/grammars.md)");
  cmd->add_option("--json-schema", a->json_schema_file, "hold the output to JSON valid against a JSON Schema file")
      ->excludes(grammar);
  cmd->add_flag("--no-bos", a->no_bos, "do not add the BOS token");
  cmd->add_flag("--ignore-eos", a->ignore_eos, "keep generating past the end-of-generation token");
  cmd->add_flag("-q,--quiet", a->quiet, "print only the generated text");
  cmd->callback([a] { run_generate(*a); });
}

}  // namespace officina::cli
