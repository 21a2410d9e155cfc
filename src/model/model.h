// A loaded Llama/Mistral-family model: configuration, weights and tokenizer.
// MODEL paths are a .gguf file or a Hugging Face directory (config.json +
// safetensors + tokenizer.json). GGUF tensors are used in place from the
// mmap; the only copies are small norm vectors converted to F32 and, for
// Hugging Face checkpoints, the q/k projections permuted into the GGUF RoPE
// layout (see rope_layout.h).
// Thread-safety: immutable after load; share between threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "model/model_config.h"
#include "tensor/tensor_view.h"
#include "text/tokenizer.h"

namespace officina {

class GgufFile;
class HfCheckpoint;

struct LayerWeights {
  TensorView attn_norm;  // [dim] F32
  TensorView wq;         // [n_heads*head_dim, dim]
  TensorView wk;         // [n_kv_heads*head_dim, dim]
  TensorView wv;         // [n_kv_heads*head_dim, dim]
  TensorView wo;         // [dim, n_heads*head_dim]
  TensorView ffn_norm;   // [dim] F32
  TensorView w_gate;     // [ffn, dim]
  TensorView w_up;       // [ffn, dim]
  TensorView w_down;     // [dim, ffn]
};

struct ModelWeights {
  TensorView token_embd;   // [vocab, dim]
  TensorView output_norm;  // [dim] F32
  TensorView output;       // [vocab, dim]; equals token_embd when tied
  std::vector<LayerWeights> layers;
};

enum class ModelSource { Gguf, HuggingFace };

class Model {
 public:
  // Loads a .gguf file or a Hugging Face directory. Errors name the file and
  // the problem: "tiny.gguf: tensor 'blk.1.attn_k.weight' has shape [96, 96],
  // expected [32, 96]".
  static Result<std::unique_ptr<Model>> load(const std::string& path);

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  ModelSource source() const { return source_; }
  const std::string& path() const { return path_; }
  // The file or directory name without extension ("tiny-gqa").
  std::string name() const;
  // The underlying files (one of them is null).
  const GgufFile* gguf() const { return gguf_.get(); }
  const HfCheckpoint* hf() const { return hf_.get(); }

 private:
  Model();
  static Result<std::unique_ptr<Model>> load_gguf(const std::string& path);
  static Result<std::unique_ptr<Model>> load_hf(const std::string& path);
  // Copies into storage owned by the model; returns a view of the copy.
  TensorView keep(TensorView shape_and_type, std::vector<std::byte> bytes);
  TensorView keep_f32(const TensorView& t);

  ModelConfig config_;
  ModelWeights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ModelSource source_ = ModelSource::Gguf;
  std::string path_;
  std::unique_ptr<GgufFile> gguf_;
  std::unique_ptr<HfCheckpoint> hf_;
  std::vector<std::unique_ptr<std::vector<std::byte>>> owned_;
};

// Checks a weight's shape and type; "WHERE: tensor 'NAME' has shape [a, b],
// expected [c, d]".
Result<void> check_tensor_shape(const TensorView& t, std::initializer_list<int64_t> expected,
                                std::string_view name, std::string_view where);

}  // namespace officina
