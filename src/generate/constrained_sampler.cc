#include "generate/constrained_sampler.h"

#include <chrono>
#include <cmath>

namespace officina {

ConstrainedSampler::ConstrainedSampler(const Grammar& grammar, const GrammarTokenFilter& filter,
                                       SamplingParams params)
    : sampler_(params), matcher_(grammar), filter_(filter) {}

Result<int32_t> ConstrainedSampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const int32_t first = sampler_.sample(logits, history);
  if (filter_.allows(matcher_, first)) {
    ++stats_.fast;
    return first;
  }
  ++stats_.masked;
  const auto t0 = std::chrono::steady_clock::now();
  masked_.assign(logits.begin(), logits.end());
  const size_t allowed = filter_.mask_logits(matcher_, masked_, allowed_);
  stats_.mask_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (matcher_.error()) return std::unexpected(*matcher_.error());
  if (allowed == 0)
    return fail("grammar: no token can continue the output here (the grammar needs text the vocabulary "
                "cannot spell, or it is complete but the model has no end-of-generation token)");
  int32_t token = sampler_.sample(masked_, history);
  // Rounding in the draw can land on a -inf entry when every kept
  // probability is tiny; the best allowed token is the honest answer then.
  if (token < 0 || token >= static_cast<int32_t>(masked_.size()) || std::isinf(masked_[token])) {
    token = allowed_[0];
    for (int32_t id : allowed_)
      if (id < static_cast<int32_t>(masked_.size()) && masked_[id] > masked_[token]) token = id;
  }
  return token;
}

Result<void> ConstrainedSampler::accept(int32_t token) {
  if (filter_.is_end_of_generation(token)) {
    if (matcher_.is_complete()) return {};
    return fail("grammar: end of generation before the output is complete");
  }
  if (!filter_.accept(matcher_, token)) {
    if (matcher_.error()) return std::unexpected(*matcher_.error());
    return fail("grammar: token {} is not allowed here", token);
  }
  return {};
}

}  // namespace officina
