// AdamW with torch.optim.AdamW semantics: decoupled weight decay applied
// first (p -= lr·wd·p), then the Adam update with bias correction:
//   m = b1·m + (1-b1)·g,  v = b2·v + (1-b2)·g²,
//   p -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps).
// Also global-norm gradient clipping (torch.nn.utils.clip_grad_norm_).
// State (m, v per tensor, step count) is exposed for checkpoints.
// Thread-safety: not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "train/lora_params.h"

namespace officina {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

class AdamW {
 public:
  AdamW(const LoraParams& params, AdamWConfig config);
  // One update of every pair with learning rate lr.
  void step(LoraParams& params, double lr);
  int64_t steps() const { return step_; }

  // Checkpoint state: m and v of A and B per pair, in pair order.
  std::vector<std::vector<float>>& moments() { return moments_; }
  void set_steps(int64_t steps) { step_ = steps; }

 private:
  AdamWConfig config_;
  int64_t step_ = 0;
  std::vector<std::vector<float>> moments_;  // per pair: m_a, v_a, m_b, v_b
};

// The global L2 norm of all gradients; scales them so it is at most
// max_norm when max_norm > 0. Returns the norm before clipping.
double clip_grad_norm(LoraParams& params, double max_norm);

}  // namespace officina
