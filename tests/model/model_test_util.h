// Builds small random models on disk for model-layer tests.
#pragma once

#include <memory>
#include <string>

#include "formats/gguf_file.h"
#include "model/gguf_export.h"
#include "model/random_model.h"
#include "test_util.h"

namespace officina::test {

// Writes a random Llama model with the conformance vocabulary to `path` and
// loads it. Returns null (with a test failure) on error.
inline std::unique_ptr<Model> make_model_file(const std::string& path, ModelConfig c, uint64_t seed = 1,
                                              DType type = DType::F32) {
  auto vocab = GgufFile::open(conformance_path("models/tiny-mha.gguf"));
  EXPECT_TRUE(vocab.has_value());
  if (!vocab) return nullptr;
  GgufMetadata tokenizer;
  for (const auto& [k, v] : vocab->metadata())
    if (k.starts_with("tokenizer.")) tokenizer.emplace_back(k, v);
  c.vocab_size = 32000;
  auto random = make_random_model(c, seed, 0.08);
  EXPECT_TRUE(random.has_value()) << (random ? "" : random.error().message);
  if (!random) return nullptr;
  GgufExportOptions options;
  options.matrix_type = type;
  auto ok = write_llama_gguf(c, (*random)->weights, tokenizer, options, path);
  EXPECT_TRUE(ok.has_value()) << (ok ? "" : ok.error().message);
  auto model = Model::load(path);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error().message);
  return model ? std::move(*model) : nullptr;
}

inline ModelConfig small_config() {
  ModelConfig c;
  c.dim = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.ffn_dim = 96;
  c.context_length = 128;
  c.rope_theta = 10000;
  c.rms_eps = 1e-5;
  return c;
}

}  // namespace officina::test
