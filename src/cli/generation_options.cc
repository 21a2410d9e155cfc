#include "cli/generation_options.h"

namespace officina::cli {

void add_sampling_options(CLI::App* cmd, SamplingParams& s) {
  cmd->add_option("--temp", s.temperature, "temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-k", s.top_k, "keep the K most likely tokens (0: all)")->capture_default_str();
  cmd->add_option("--top-p", s.top_p, "nucleus sampling mass")->capture_default_str();
  cmd->add_option("--min-p", s.min_p, "drop tokens below this fraction of the best")->capture_default_str();
  cmd->add_option("--repeat-penalty", s.repeat_penalty, "penalty for recent tokens (1: off)")->capture_default_str();
  cmd->add_option("--repeat-last-n", s.repeat_last_n, "how many recent tokens are penalised")->capture_default_str();
  cmd->add_option("--presence-penalty", s.presence_penalty, "OpenAI-style presence penalty")->capture_default_str();
  cmd->add_option("--frequency-penalty", s.frequency_penalty, "OpenAI-style frequency penalty")->capture_default_str();
  cmd->add_option("-s,--seed", s.seed, "random seed (same seed, same text)")->capture_default_str();
}

void use_adapter(const std::optional<LoraAdapter>& adapter, Transformer& transformer, GenerateOptions& options) {
  if (!adapter) return;
  transformer.set_adapters({&*adapter});
  options.adapter = 0;
}

}  // namespace officina::cli
