// The generation loop: prefill a prompt into one KV-cache slot (in chunks),
// then decode token by token with a Sampler until max_tokens, an
// end-of-generation token, or a callback asks to stop. Text is streamed
// through a TokenStreamDecoder so callbacks only see complete UTF-8.
// With a grammar, only tokens the grammar allows are sampled (see
// constrained_sampler.h) and generation stops as soon as the grammar is
// complete and either an end-of-generation token is drawn or nothing else
// may follow.
// Thread-safety: one call at a time per Transformer.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "generate/sampler.h"
#include "generate/sequence_decoder.h"
#include "text/grammar.h"
#include "text/grammar_token_filter.h"
#include "model/kv_cache.h"
#include "model/transformer.h"

namespace officina {

struct GenerateOptions {
  int64_t max_tokens = 128;
  SamplingParams sampling;
  bool stop_at_end_of_generation = true;
  int64_t prefill_chunk = 256;  // prompt rows per forward call
  int32_t adapter = -1;         // index into the transformer's adapters (-1: base model)
  // Leading prompt tokens whose keys/values the slot already holds from an
  // earlier call (the caller vouches they are the same tokens, at the same
  // positions, with the same adapter): their prefill is skipped. Clamped to
  // what the slot holds and to prompt size - 1; 0 = prefill everything.
  int64_t reuse_prefix = 0;
  // Output held to this grammar (null: free text). Must outlive the call.
  const Grammar* grammar = nullptr;
  // The vocabulary trie for the grammar; built from the model's tokenizer
  // for this call when null (tens of ms for 32000 tokens: share one).
  const GrammarTokenFilter* token_filter = nullptr;
  std::vector<std::string> stop;  // texts that end (and are cut from) the output
  int32_t top_logprobs = -1;      // >= 0: record log-probabilities (see DecodeOptions)

  DecodeOptions decode_options() const;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (the end-of-generation token excluded)
  std::string text;
  FinishReason finish = FinishReason::Length;
  int64_t prompt_tokens = 0;
  int64_t reused_tokens = 0;  // prompt tokens taken from the cache (reuse_prefix)
  double prompt_seconds = 0;
  double generate_seconds = 0;
  int64_t grammar_masked_steps = 0;  // steps that needed the full token mask
  bool grammar_complete = false;     // the output is a full sentence of the grammar
  // With top_logprobs >= 0: per generated token, its log-probability and the best alternatives.
  std::vector<std::pair<TokenLogprob, std::vector<TokenLogprob>>> logprobs;
};

// on_text(piece) receives text as it completes; returning false stops.
using TextCallback = std::function<bool(std::string_view piece)>;

// Fails when the prompt is empty, the grammar leaves no token to choose, or
// the context fills up before max_tokens
// ("context full: ..."; the tokens generated so far are lost with the error,
// so callers size the cache to prompt + max_tokens).
Result<GenerateResult> generate(Transformer& transformer, KvCache& cache, int32_t slot,
                                std::span<const int32_t> prompt, const GenerateOptions& options,
                                const TextCallback& on_text = {});

}  // namespace officina
