// Small helpers shared by the subcommands: error reporting and parsing of
// option values that CLI11 does not parse itself.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "model/lora_adapter.h"

namespace officina::cli {

// Prints "officina: error: MESSAGE" to stderr and sets the exit code to 1.
void report(const Error& error);

// "1,2,3" -> {1, 2, 3}; errors name the offending item.
Result<std::vector<int32_t>> parse_token_list(std::string_view text);

// Loads the --lora PATH[:SCALE] values (stacked into one adapter when given
// more than once); nullopt when there are none.
// "q,k,v,gate" (or q_proj..., or "all") → which LoRA projections; the --targets option.
Result<std::array<bool, kLoraTargets>> parse_targets(const std::string& text);

Result<std::optional<LoraAdapter>> load_lora_options(const std::vector<std::string>& specs, const ModelConfig& config);

}  // namespace officina::cli
