// Sampling held to a grammar. The fast path samples from the unconstrained
// logits and asks the grammar about that one token; only when it is refused
// is the full token mask computed (GrammarTokenFilter's trie walk), the
// refused logits set to -inf, and the token drawn again. Accepting the first
// draw when allowed and redrawing from the masked row otherwise gives
// exactly the masked distribution (before top-k/top-p/min-p truncation,
// which the second draw applies to the allowed tokens only), while most
// steps of a model that already follows the format cost one check.
// Same seed, same tokens: the draws come from the one seeded Sampler.
// Thread-safety: one sequence at a time; the Grammar and the filter must
// outlive it and may be shared between samplers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "generate/sampler.h"
#include "text/grammar_matcher.h"
#include "text/grammar_token_filter.h"

namespace officina {

struct ConstrainedSamplerStats {
  int64_t fast = 0;          // steps where the first draw was allowed
  int64_t masked = 0;        // steps that needed the full mask
  double mask_seconds = 0;   // time spent computing masks
};

class ConstrainedSampler {
 public:
  ConstrainedSampler(const Grammar& grammar, const GrammarTokenFilter& filter, SamplingParams params);

  // The next token the grammar allows ([vocab] logits). Fails when no token
  // is allowed ("grammar: no token can continue the output ...") or the
  // matcher hit its limits.
  Result<int32_t> sample(std::span<const float> logits, std::span<const int32_t> history);
  // Advances the grammar over a token chosen by sample(). Fails when the
  // grammar refuses it (a caller forcing its own token).
  Result<void> accept(int32_t token);

  const GrammarMatcher& matcher() const { return matcher_; }
  const ConstrainedSamplerStats& stats() const { return stats_; }

 private:
  Sampler sampler_;
  GrammarMatcher matcher_;
  const GrammarTokenFilter& filter_;
  std::vector<float> masked_;
  std::vector<int32_t> allowed_;
  ConstrainedSamplerStats stats_;
};

}  // namespace officina
