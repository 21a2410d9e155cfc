// Token sampling: repetition/presence/frequency penalties, then greedy
// (temperature <= 0) or top-k → temperature softmax → top-p → min-p → a
// seeded draw. The random generator is xoshiro256** seeded by splitmix64, so
// the same seed gives the same text on every machine.
// Thread-safety: a Sampler is used by one sequence at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/random.h"

namespace officina {

struct SamplingParams {
  float temperature = 0.8f;       // <= 0: greedy
  int32_t top_k = 40;             // <= 0: all tokens
  float top_p = 0.95f;            // >= 1: off
  float min_p = 0.05f;            // <= 0: off; relative to the best token's probability
  float repeat_penalty = 1.0f;    // 1: off; divides positive logits, multiplies negative
  int32_t repeat_last_n = 64;     // how many recent tokens the penalties look at
  float presence_penalty = 0.0f;  // subtracted once per distinct recent token
  float frequency_penalty = 0.0f; // subtracted per occurrence
  uint64_t seed = 0;

  // "--top-p must be in (0, 1]" style errors for values that make no sense.
  Result<void> validate() const;
};

class Sampler {
 public:
  explicit Sampler(SamplingParams params) : params_(params), rng_(params.seed) {}

  // Picks the next token from one row of logits; `history` is the sequence
  // so far (prompt and generated), read by the penalties.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  Rng rng_;
  std::vector<float> work_;
  std::vector<int32_t> order_;
};

// Index of the largest logit (the lowest index among equals).
int32_t argmax(std::span<const float> logits);

}  // namespace officina
