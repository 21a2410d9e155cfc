// Architecture parameters of a Llama/Mistral-family decoder, read from GGUF
// metadata (`<arch>.*` keys) or a Hugging Face config.json. Anything officina
// does not implement (rope scaling, attention biases, another activation, an
// unknown architecture) is refused with an error naming it.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/json_util.h"

namespace officina {

class GgufFile;

struct ModelConfig {
  std::string architecture = "llama";  // "llama" or "mistral"
  int64_t dim = 0;                     // embedding width (hidden_size)
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;              // GQA when < n_heads, MQA when 1
  int64_t head_dim = 0;                // may differ from dim / n_heads
  int64_t ffn_dim = 0;                 // SwiGLU hidden width
  int64_t vocab_size = 0;
  int64_t context_length = 0;          // trained context
  double rope_theta = 10000.0;
  double rms_eps = 1e-5;
  int64_t sliding_window = 0;          // 0 = full causal attention
  bool tied_embeddings = false;        // output head shares token embedding

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  // Parameter count of the weights (embedding counted once when tied).
  int64_t parameter_count() const;

  // Checks the numbers fit together (heads divide, head_dim even, ...);
  // errors name `where` and the field.
  Result<void> validate(std::string_view where) const;
};

// GGUF `general.architecture` must be llama or mistral.
Result<ModelConfig> model_config_from_gguf(const GgufFile& gguf);
// config.json of a Hugging Face checkpoint (model_type llama or mistral).
Result<ModelConfig> model_config_from_hf(const Json& config, std::string_view where);

}  // namespace officina
