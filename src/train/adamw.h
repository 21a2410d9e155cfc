// AdamW with torch.optim.AdamW semantics: decoupled weight decay applied
// first (p -= lr·wd·p), then the Adam update with bias correction:
//   m = b1·m + (1-b1)·g,  v = b2·v + (1-b2)·g²,
//   p -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps).
// Also global-norm gradient clipping (torch.nn.utils.clip_grad_norm_).
// The optimizer works on a list of named F32 tensors (ParamTensor): the A/B
// of a LoRA adapter (lora_param_tensors) or every weight of a model in
// full-parameter training. State (m, v per tensor, step count) is exposed
// for checkpoints.
// Thread-safety: not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "train/lora_params.h"

namespace officina {

// One trainable tensor as the optimizer and checkpoints see it: its values
// and gradient (same length), its name and shape for checkpoints, and
// whether weight decay applies to it.
struct ParamTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::span<float> value, grad;
  bool decay = true;
};

// A and B of every pair, in pair order: "pair.I.a", "pair.I.b".
std::vector<ParamTensor> lora_param_tensors(LoraParams& params);

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

class AdamW {
 public:
  // Zero moments for each tensor of `tensors` (the same list, in the same
  // order, must be passed to step()).
  AdamW(std::span<const ParamTensor> tensors, AdamWConfig config);
  AdamW(LoraParams& params, AdamWConfig config);
  // One update of every tensor with learning rate lr; `pool` (optional)
  // spreads large tensors over threads (the result does not depend on it).
  void step(std::span<const ParamTensor> tensors, double lr, ThreadPool* pool = nullptr);
  void step(LoraParams& params, double lr);
  int64_t steps() const { return step_; }

  // Checkpoint state: m and v per tensor, in tensor order (for LoRA: m_a,
  // v_a, m_b, v_b per pair).
  std::vector<std::vector<float>>& moments() { return moments_; }
  void set_steps(int64_t steps) { step_ = steps; }

 private:
  AdamWConfig config_;
  int64_t step_ = 0;
  std::vector<std::vector<float>> moments_;  // per tensor: m, v
};

// The global L2 norm of all gradients; scales them so it is at most
// max_norm when max_norm > 0. Returns the norm before clipping.
double clip_grad_norm(std::span<const ParamTensor> tensors, double max_norm);
double clip_grad_norm(LoraParams& params, double max_norm);

}  // namespace officina
