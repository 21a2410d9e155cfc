// The model the issues' speed targets are stated for: a 134M-parameter
// Llama (dim 768, 12 layers, 12 heads, ffn 2048, vocab 32000), or a quick
// small one, with the conformance tokenizer's metadata for a real
// 32000-token vocabulary.
#pragma once

#include <cstdlib>
#include <string>

#include "model/gguf_export.h"
#include "model/model.h"
#include "model/model_config.h"

namespace officina::bench {

inline ModelConfig bench_model_config(bool quick) {
  ModelConfig c;
  c.dim = quick ? 256 : 768;
  c.n_layers = quick ? 2 : 12;
  c.n_heads = quick ? 4 : 12;
  c.n_kv_heads = c.n_heads;
  c.head_dim = c.dim / c.n_heads;
  c.ffn_dim = quick ? 512 : 2048;
  c.vocab_size = 32000;
  c.context_length = 1024;
  c.rope_theta = 10000;
  c.rms_eps = 1e-5;
  return c;
}

// Tokenizer metadata of the conformance tiny-gqa model
// (OFFICINA_CONFORMANCE_DIR or the path compiled in).
inline Result<GgufMetadata> bench_tokenizer_metadata() {
  const char* conf = std::getenv("OFFICINA_CONFORMANCE_DIR");
  const std::string conformance = conf && *conf ? conf : OFFICINA_DEFAULT_CONFORMANCE_DIR;
  std::unique_ptr<Model> vocab_model;
  OFFICINA_TRY(vocab_model, Model::load(conformance + "/models/tiny-gqa.gguf"));
  return tokenizer_gguf_metadata(*vocab_model);
}

}  // namespace officina::bench
