// Options shared by the commands that generate text (generate, chat): the
// sampling flags, and attaching a --lora adapter to the transformer and the
// generation.
#pragma once

#include <optional>

#include <CLI/CLI.hpp>

#include "generate/generator.h"
#include "model/lora_adapter.h"

namespace officina::cli {

// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n,
// --presence-penalty, --frequency-penalty, -s/--seed.
void add_sampling_options(CLI::App* cmd, SamplingParams& s);

// Makes `adapter` (when present) adapter 0 of the transformer and of the
// generation; it must outlive both.
void use_adapter(const std::optional<LoraAdapter>& adapter, Transformer& transformer, GenerateOptions& options);

}  // namespace officina::cli
