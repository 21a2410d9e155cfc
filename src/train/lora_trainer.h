// Loss and gradients of LoRA (or QLoRA) fine-tuning for one training
// sequence. The base weights stay frozen in whatever type they are stored
// (F32 used in place; F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K dequantized a block
// of rows at a time), the LoRA A/B are F32. When every layer's activations
// fit the memory budget they are kept; otherwise activations are recomputed
// per block: the forward pass keeps only each layer's input, and the
// backward pass runs each layer's forward again before going back through
// it, so memory grows with T·dim·layers, not with every intermediate.
// A sequence may pack several samples: `segments` keeps attention inside each
// and `positions` restart per sample.
// Full-parameter training uses the same passes over F32 weights it owns
// (FullParams) and adds, beside the activation gradients, the gradient of
// every weight into a ModelGrads: dW += dYᵀ·X for each matrix, the RMSNorm
// weights, the output head and the embedding rows of the sequence's tokens.
// Thread-safety: one accumulate() at a time per LoraTrainer.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "model/model.h"
#include "train/full_params.h"
#include "train/lora_params.h"

namespace officina {

struct TrainSequence {
  std::vector<int32_t> tokens;     // [T]
  std::vector<int32_t> targets;    // [T]: the token to predict after position t, or -1 (not trained)
  std::vector<int32_t> positions;  // [T] RoPE positions (empty: 0..T-1)
  std::vector<int32_t> segments;   // [T] sample ids for packing (empty: one sample)
};

struct SequenceLoss {
  double loss_sum = 0;  // sum over targets of -log p(target)
  int64_t targets = 0;
  int64_t correct = 0;  // targets that were the argmax
};

class LoraTrainer {
 public:
  // `params` may be null for a forward-only evaluator of the base model.
  // `pool` (optional) runs the element-wise work (softmax, cross-entropy) on
  // several threads; the matrix products use OpenBLAS's own threads.
  LoraTrainer(const Model& model, LoraParams* params, ThreadPool* pool = nullptr);
  // Full-parameter training: `weights` are F32 (FullParams::weights()) and
  // accumulate() adds every weight's gradient into `grads` (not null). Both
  // must outlive the trainer.
  LoraTrainer(const ModelConfig& config, const ModelWeights& weights, ModelGrads* grads, ThreadPool* pool = nullptr);
  ~LoraTrainer();

  // Adds d(loss_scale · loss_sum)/d(A, B) to the params' gradients (or
  // d/dW of every weight to the ModelGrads in full-parameter training) and
  // returns the sequence's loss. Fails on token ids outside the vocabulary,
  // mismatched lengths, or T beyond the model's context.
  Result<SequenceLoss> accumulate(const TrainSequence& seq, float loss_scale);
  // Dropout on the LoRA input (x before A), PEFT-style, for the following
  // accumulate() calls: each element kept with probability 1 - p and scaled
  // by 1/(1-p); the mask comes from `seed` and the (layer, projection), so
  // the recomputation in the backward pass sees the same mask. p = 0: off.
  void set_dropout(float p, uint64_t seed) {
    dropout_ = p;
    dropout_seed_ = seed;
  }

  // Activations of every layer are kept (no recomputation) while they fit in
  // this many bytes; beyond it, one layer's are kept and the rest recomputed.
  void set_memory_budget(int64_t bytes) { memory_budget_ = bytes; }

  // The loss only (validation; no dropout).
  Result<SequenceLoss> evaluate(const TrainSequence& seq);

 private:
  struct LayerState;
  struct BackwardScratch;
  Result<void> check(const TrainSequence& seq) const;
  void embed(const TrainSequence& seq);
  void layer_forward(int64_t layer, const float* x_in, float* x_out, LayerState& st);
  void layer_backward(int64_t layer, LayerState& st, const float* d_out, float* d_in);
  double head(const TrainSequence& seq, bool backward, float loss_scale, int64_t* correct, float* d_x);
  // Calls fn(first_row, rows, F32 data) over the weight: in place for F32,
  // dequantized a block of rows at a time otherwise.
  template <class F>
  void for_each_weight_block(const TensorView& w, F&& fn);
  void linear_forward(const TensorView& w, const TrainPair* lora, const float* x, int64_t rows, float* y, float* t);
  // dw (F32 [out, in], may be null) += dyᵀ·x: the weight's own gradient.
  void linear_backward(const TensorView& w, TrainPair* lora, const float* x, const float* t, const float* dy,
                       int64_t rows, float* dx, float* dw = nullptr);
  void embed_backward(const TrainSequence& seq, const float* d_x);
  LayerGrads* layer_grads(int64_t layer);

  const ModelConfig& config_;
  const ModelWeights& weights_;
  LoraParams* params_;
  ModelGrads* grads_ = nullptr;
  int64_t T_ = 0;
  std::vector<int32_t> pos_, seg_;
  std::vector<float> x_;        // [(layers + 1), T, dim]: each layer's input and the final output
  std::vector<float> weight_;   // dequantized rows of a frozen weight
  std::vector<float> logits_;   // [T, vocab]
  std::vector<float> scratch_;  // LoRA intermediate in backward
  ThreadPool* pool_ = nullptr;
  std::vector<std::unique_ptr<LayerState>> states_;
  std::unique_ptr<BackwardScratch> scratch_bwd_;
  int64_t memory_budget_ = int64_t{1} << 30;
  float dropout_ = 0.0f;
  uint64_t dropout_seed_ = 0;
  bool training_ = false;
  std::vector<float> dropped_;  // x with dropout applied (LoRA path only)
  const float* lora_input(const TrainPair& pair, const float* x, int64_t rows);
  uint64_t dropout_stream(const TrainPair& pair) const;
};

}  // namespace officina
