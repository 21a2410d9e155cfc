// The per-sequence half of generation: given the logits for a sequence's
// next position, pick its next token (Sampler, or ConstrainedSampler under a
// grammar), decide whether the sequence ends (end-of-generation token,
// grammar complete, max_tokens, a stop string) and turn the token into text
// (complete UTF-8 only, stop strings held back until they can no longer
// match and cut from the output). Single-sequence generate() and the
// server's batch scheduler both drive a SequenceDecoder, so one request gives
// the same tokens alone or inside a batch.
// Thread-safety: one sequence, one thread at a time; the grammar and token
// filter it points to must outlive it and may be shared.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "generate/constrained_sampler.h"
#include "generate/sampler.h"
#include "text/grammar.h"
#include "text/grammar_token_filter.h"
#include "text/tokenizer.h"

namespace officina {

enum class FinishReason { Length, Stop, Callback };
std::string_view finish_reason_name(FinishReason reason);  // "length", "stop", "callback"

struct DecodeOptions {
  int64_t max_tokens = 128;
  SamplingParams sampling;
  bool stop_at_end_of_generation = true;
  // Output held to this grammar (null: free text). Must outlive the decoder.
  const Grammar* grammar = nullptr;
  // The vocabulary trie for the grammar; built for this decoder when null
  // (tens of ms for 32000 tokens: share one).
  const GrammarTokenFilter* token_filter = nullptr;
  // Texts that end the output when it contains one (cut, like OpenAI `stop`).
  std::vector<std::string> stop;
  // < 0: no log-probabilities; n >= 0: the chosen token's and the n best.
  int32_t top_logprobs = -1;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;  // natural log of the softmax of the raw logits
};

struct DecodeStep {
  int32_t token = -1;     // the chosen token; -1 when the step ended the sequence without one
  std::string text;       // text completed by this step (may be empty)
  bool finished = false;
  FinishReason finish = FinishReason::Length;
  std::optional<TokenLogprob> logprob;  // the chosen token's, when asked for
  std::vector<TokenLogprob> top;        // the best top_logprobs tokens, best first
};

class SequenceDecoder {
 public:
  // Fails on invalid sampling parameters or a token filter of another vocabulary.
  static Result<std::unique_ptr<SequenceDecoder>> create(const Tokenizer& tokenizer,
                                                         std::span<const int32_t> prompt,
                                                         const DecodeOptions& options);

  // Picks the next token from this sequence's logits row ([vocab]). When the
  // step does not finish the sequence, the caller runs the model on
  // `token` (at position prompt + generated - 1) and calls step again.
  // Fails when the grammar leaves no token.
  Result<DecodeStep> step(std::span<const float> logits);
  // Ends the sequence early (a callback or the client stopped it): the text
  // still held back.
  std::string finish();

  std::span<const int32_t> generated() const { return generated_; }
  const std::string& text() const { return text_; }  // everything emitted so far
  int64_t grammar_masked_steps() const;
  bool grammar_complete() const;

 private:
  SequenceDecoder(const Tokenizer& tokenizer, std::span<const int32_t> prompt, const DecodeOptions& options);
  std::string release(std::string piece, bool final, bool& hit_stop);

  const Tokenizer& tokenizer_;
  DecodeOptions options_;
  Sampler sampler_;
  std::unique_ptr<GrammarTokenFilter> own_filter_;
  std::optional<ConstrainedSampler> constrained_;
  TokenStreamDecoder stream_;
  std::vector<int32_t> history_;    // prompt + generated (the penalties read it)
  std::vector<int32_t> generated_;
  std::string held_;                // text that may be the start of a stop string
  std::string text_;
  bool done_ = false;
};

// Log-softmax of the chosen token and the best `top` tokens of a logits row.
TokenLogprob token_logprob(std::span<const float> logits, int32_t token, float log_sum);
float log_sum_exp(std::span<const float> logits);
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t count, float log_sum);

}  // namespace officina
