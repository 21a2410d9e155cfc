// A fine-tuning job request in the OpenAI shape (POST /v1/fine_tuning/jobs):
//   {"model", "training_file", "validation_file"?, "suffix"?, "seed"?,
//    "hyperparameters"? (legacy place),
//    "method"?: {"type": "supervised", "supervised": {"hyperparameters": {...}}}}
// Hyperparameters: n_epochs (1-50), batch_size (1-256), learning_rate_multiplier
// (0-10], each a value or "auto"; officina's LoRA settings beside them:
// lora_r (1-256, default 16), lora_alpha (default 2 r), lora_dropout (0-0.5),
// lora_target_modules (["q_proj", ...] or "all"), and seq_len (16-8192).
// "auto" is resolved from the training data (resolve_hyperparameters) and the
// job reports the values it used. officina's extension "resources":
// {"nodes" (1-64), "tasks_per_node" (1-64), "time_limit_minutes" (1-10080),
// "gpus_per_node" (0-16)} asks a scheduler for more than the defaults; the
// project's tier bounds it (FineTuneJobs).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/api_error.h"

namespace officina {

struct FineTuneRequest {
  std::string model, training_file, validation_file, suffix;
  std::optional<int64_t> seed;
  std::optional<int64_t> n_epochs, batch_size, seq_len;  // nullopt: auto
  std::optional<double> learning_rate_multiplier;
  int64_t lora_r = 16;
  std::optional<double> lora_alpha;
  double lora_dropout = 0.0;
  std::string lora_targets = "all";  // the --targets of `officina finetune`
  // "resources" (nullopt: the instance's default)
  std::optional<int64_t> nodes, tasks_per_node, time_limit_minutes, gpus_per_node;
};

// 400 errors name the field (param), e.g. "hyperparameters.n_epochs".
ApiResult<FineTuneRequest> parse_fine_tune_request(const nlohmann::ordered_json& body);

struct ResolvedHyperparameters {
  int64_t n_epochs = 1, batch_size = 1, seq_len = 512;
  double learning_rate_multiplier = 1.0;
  double learning_rate = 2e-4;  // base 2e-4 x multiplier
  int64_t lora_r = 16;
  double lora_alpha = 32, lora_dropout = 0;
  std::string lora_targets = "all";
  int64_t seed = 0;

  nlohmann::ordered_json to_json() const;  // as the job reports them
};

// "auto": n_epochs so that small files are seen about 100 samples' worth
// (at most 10 passes), batch_size min(4, samples), multiplier 1, seq_len
// min(512, the model's context).
ResolvedHyperparameters resolve_hyperparameters(const FineTuneRequest& request, int64_t samples, int64_t context,
                                                int64_t seed);

}  // namespace officina
