// The trainable side of full-parameter training: an F32 copy of every weight
// of a Llama model (token embedding, each layer's attention and MLP matrices
// and RMSNorm weights, the final norm, the output head unless it is tied to
// the embedding) with a gradient buffer of the same shape for each. The
// copies are exposed as a ModelWeights (views into them) that LoraTrainer
// runs its forward pass on, and as a ModelGrads (pointers into the gradient
// buffers) that its backward pass accumulates into. Tensors are named and
// ordered as llama.cpp's GGUF files name them (token_embd.weight,
// blk.N.attn_q.weight, ..., output.weight); q/k rows stay in the engine's
// (GGUF) RoPE layout throughout.
// Only F32 bases are accepted: training quantized or 16-bit weights in place
// would round every update away.
// Thread-safety: not thread-safe; one trainer owns it. Not copyable (the
// views point into it); moving keeps them valid.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "model/model.h"
#include "train/adamw.h"

namespace officina {

// Where the backward pass adds each weight's gradient (F32, same shapes as
// the weights; [rows, cols] row-major). A null pointer: not trained.
struct LayerGrads {
  float* attn_norm = nullptr;
  float *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
  float* ffn_norm = nullptr;
  float *w_gate = nullptr, *w_up = nullptr, *w_down = nullptr;
};

struct ModelGrads {
  float* token_embd = nullptr;   // [vocab, dim]
  float* output_norm = nullptr;  // [dim]
  float* output = nullptr;       // [vocab, dim]; equals token_embd when tied
  std::vector<LayerGrads> layers;
};

struct FullTensor {
  std::string name;            // GGUF name, "blk.0.attn_q.weight"
  std::vector<int64_t> shape;  // [rows, cols] or [dim]
  std::vector<float> value, grad;
  bool matrix = true;  // false for the RMSNorm weights (not weight-decayed)
};

class FullParams {
 public:
  // Copies the weights of `model`. Fails, naming the tensor and its type,
  // when a weight matrix is not F32 ("--full needs an F32 model ...").
  static Result<FullParams> from_model(const Model& model);
  // The same from bare weights (random models in tests); `where` names them.
  static Result<FullParams> from_weights(const ModelConfig& config, const ModelWeights& weights,
                                         std::string_view where);

  FullParams(FullParams&&) = default;
  FullParams& operator=(FullParams&&) = default;
  FullParams(const FullParams&) = delete;
  FullParams& operator=(const FullParams&) = delete;

  const ModelConfig& config() const { return config_; }
  // Views of the current values, for the forward pass and for writing.
  const ModelWeights& weights() const { return weights_; }
  ModelGrads& grads() { return grads_; }
  std::vector<FullTensor>& tensors() { return tensors_; }
  const std::vector<FullTensor>& tensors() const { return tensors_; }
  // The tensor named `name`, or nullptr.
  FullTensor* find(std::string_view name);

  void zero_grad();
  int64_t parameter_count() const;
  // Every tensor for the optimizer and checkpoints (norms without decay).
  std::vector<ParamTensor> param_tensors();

 private:
  FullParams() = default;
  void link();
  ModelConfig config_;
  std::vector<FullTensor> tensors_;
  ModelWeights weights_;
  ModelGrads grads_;
};

// Writes the trained weights as an F32 GGUF model at `path` (atomically).
// A GGUF source keeps every metadata key (tokenizer, chat template, ...)
// and any tensor officina does not train, in the file's order, with
// general.file_type set to F32; a Hugging Face source is written as
// `officina convert` writes it. Fails with "PATH: ..." on I/O errors.
Result<void> write_full_model(const Model& source, const FullParams& params, const std::string& path);

}  // namespace officina
