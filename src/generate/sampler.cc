#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace officina {

Result<void> SamplingParams::validate() const {
  if (!std::isfinite(temperature)) return fail("--temp must be a finite number");
  if (!(top_p > 0.0f)) return fail("--top-p must be in (0, 1], got {}", top_p);
  if (!(min_p >= 0.0f && min_p <= 1.0f)) return fail("--min-p must be in [0, 1], got {}", min_p);
  if (!(repeat_penalty > 0.0f)) return fail("--repeat-penalty must be positive, got {}", repeat_penalty);
  if (repeat_last_n < 0) return fail("--repeat-last-n must be >= 0, got {}", repeat_last_n);
  return {};
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const int32_t vocab = static_cast<int32_t>(logits.size());
  work_.assign(logits.begin(), logits.end());

  // Penalties over the recent window.
  const SamplingParams& p = params_;
  if (p.repeat_last_n > 0 &&
      (p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f)) {
    std::unordered_map<int32_t, int> counts;
    size_t from = history.size() > static_cast<size_t>(p.repeat_last_n) ? history.size() - p.repeat_last_n : 0;
    for (size_t i = from; i < history.size(); ++i)
      if (history[i] >= 0 && history[i] < vocab) ++counts[history[i]];
    for (auto [token, count] : counts) {
      float& l = work_[token];
      l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
      l -= p.presence_penalty + p.frequency_penalty * static_cast<float>(count);
    }
  }
  if (p.temperature <= 0.0f) return argmax(work_);

  // Candidates sorted by logit, cut to top-k.
  order_.resize(vocab);
  std::iota(order_.begin(), order_.end(), 0);
  int32_t k = p.top_k > 0 ? std::min(p.top_k, vocab) : vocab;
  auto by_logit = [&](int32_t a, int32_t b) { return work_[a] > work_[b] || (work_[a] == work_[b] && a < b); };
  std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), by_logit);
  order_.resize(k);

  // Softmax with temperature over the candidates.
  std::vector<double> probs(k);
  const double top = work_[order_[0]];
  double sum = 0;
  for (int32_t i = 0; i < k; ++i) sum += probs[i] = std::exp((work_[order_[i]] - top) / p.temperature);
  for (auto& q : probs) q /= sum;

  // top-p: the smallest prefix whose mass reaches top_p; min-p: relative floor.
  int32_t keep = k;
  if (p.top_p < 1.0f) {
    double mass = 0;
    for (int32_t i = 0; i < k; ++i) {
      mass += probs[i];
      if (mass >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (p.min_p > 0.0f) {
    int32_t i = 1;
    while (i < keep && probs[i] >= p.min_p * probs[0]) ++i;
    keep = i;
  }
  double kept = 0;
  for (int32_t i = 0; i < keep; ++i) kept += probs[i];
  double u = rng_.uniform() * kept;
  for (int32_t i = 0; i < keep; ++i) {
    u -= probs[i];
    if (u < 0) return order_[i];
  }
  return order_[keep - 1];
}

}  // namespace officina
