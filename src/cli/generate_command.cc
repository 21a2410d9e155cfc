// officina generate -m MODEL -p PROMPT -n N [sampling options] [--threads N]
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "generate/generator.h"

namespace officina::cli {

namespace {
struct GenerateArgs {
  std::string model, prompt;
  int64_t n = 64;
  int64_t ctx = 0;
  int threads = 0;
  bool no_bos = false;
  bool ignore_eos = false;
  bool quiet = false;
  SamplingParams sampling;
};

void run_generate(const GenerateArgs& a) {
  auto loaded = Model::load(a.model);
  if (!loaded) return report(loaded.error());
  const Model& model = **loaded;
  std::vector<int32_t> prompt = model.tokenizer().encode(a.prompt, !a.no_bos && model.tokenizer().add_bos_default());
  if (prompt.empty()) return report(Error{"generate: the prompt is empty; give -p TEXT"});
  int64_t ctx = a.ctx > 0 ? a.ctx : std::min<int64_t>(model.config().context_length,
                                                      static_cast<int64_t>(prompt.size()) + a.n + 1);
  auto cache = KvCache::create(model.config(), 1, ctx, default_kv_precision(model));
  if (!cache) return report(cache.error());
  ThreadPool pool(a.threads);
  Transformer transformer(model, pool);
  GenerateOptions options;
  options.max_tokens = a.n;
  options.sampling = a.sampling;
  options.stop_at_end_of_generation = !a.ignore_eos;
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
  cmd->add_option("--temp", s.temperature, "temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-k", s.top_k, "keep the K most likely tokens (0: all)")->capture_default_str();
  cmd->add_option("--top-p", s.top_p, "nucleus sampling mass")->capture_default_str();
  cmd->add_option("--min-p", s.min_p, "drop tokens below this fraction of the best")->capture_default_str();
  cmd->add_option("--repeat-penalty", s.repeat_penalty, "penalty for recent tokens (1: off)")->capture_default_str();
  cmd->add_option("--repeat-last-n", s.repeat_last_n, "how many recent tokens are penalised")->capture_default_str();
  cmd->add_option("--presence-penalty", s.presence_penalty, "OpenAI-style presence penalty")->capture_default_str();
  cmd->add_option("--frequency-penalty", s.frequency_penalty, "OpenAI-style frequency penalty")->capture_default_str();
  cmd->add_option("-s,--seed", s.seed, "random seed (same seed, same text)")->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "threads (default: all cores)");
  cmd->add_option("-c,--ctx", a->ctx, "context size (default: prompt + n)");
  cmd->add_flag("--no-bos", a->no_bos, "do not add the BOS token");
  cmd->add_flag("--ignore-eos", a->ignore_eos, "keep generating past the end-of-generation token");
  cmd->add_flag("-q,--quiet", a->quiet, "print only the generated text");
  cmd->callback([a] { run_generate(*a); });
}

}  // namespace officina::cli
