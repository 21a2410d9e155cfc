#include "generate/generator.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "generate/constrained_sampler.h"

namespace officina {

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Length: return "length";
    case FinishReason::Stop: return "stop";
    case FinishReason::Callback: return "callback";
  }
  return "?";
}

Result<GenerateResult> generate(Transformer& transformer, KvCache& cache, int32_t slot,
                                std::span<const int32_t> prompt, const GenerateOptions& options,
                                const TextCallback& on_text) {
  using Clock = std::chrono::steady_clock;
  if (prompt.empty()) return fail("generate: the prompt has no tokens");
  OFFICINA_CHECK(options.sampling.validate());
  if (static_cast<int64_t>(prompt.size()) >= cache.context())
    return fail("context full: the prompt has {} tokens but the context holds {} (raise --ctx)", prompt.size(),
                cache.context());
  const Tokenizer& tokenizer = transformer.model().tokenizer();
  GenerateResult result;
  result.prompt_tokens = static_cast<int64_t>(prompt.size());
  const int64_t reuse = std::clamp<int64_t>(options.reuse_prefix, 0,
                                            std::min<int64_t>(cache.length(slot), static_cast<int64_t>(prompt.size()) - 1));
  if (reuse > 0) cache.set_length(slot, reuse);
  else cache.clear(slot);
  result.reused_tokens = reuse;

  std::vector<float> logits;
  std::vector<BatchRow> rows;
  auto t0 = Clock::now();
  const int64_t chunk = std::max<int64_t>(1, options.prefill_chunk);
  for (int64_t start = reuse; start < static_cast<int64_t>(prompt.size()); start += chunk) {
    int64_t end = std::min<int64_t>(start + chunk, static_cast<int64_t>(prompt.size()));
    rows.clear();
    for (int64_t i = start; i < end; ++i)
      rows.push_back({prompt[i], slot, static_cast<int32_t>(i), options.adapter, i + 1 == static_cast<int64_t>(prompt.size())});
    OFFICINA_CHECK(transformer.forward(rows, cache, logits));
  }
  auto t1 = Clock::now();
  result.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

  Sampler sampler(options.sampling);
  std::optional<GrammarTokenFilter> own_filter;
  std::optional<ConstrainedSampler> constrained;
  if (options.grammar) {
    const GrammarTokenFilter* filter = options.token_filter;
    if (!filter) filter = &own_filter.emplace(tokenizer);
    if (filter->vocab_size() != tokenizer.vocab_size())
      return fail("generate: the grammar's token filter was built for a vocabulary of {} tokens, the model has {}",
                  filter->vocab_size(), tokenizer.vocab_size());
    constrained.emplace(*options.grammar, *filter, options.sampling);
  }
  // The text continues the prompt, so a leading space is real text.
  TokenStreamDecoder decoder(tokenizer, TokenStreamOptions{.skip_special = true, .strip_leading_space = false});
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  bool stopped_by_callback = false;
  auto emit = [&](const std::string& piece) {
    if (piece.empty()) return;
    result.text += piece;
    if (on_text && !on_text(piece)) stopped_by_callback = true;
  };
  for (int64_t step = 0; step < options.max_tokens; ++step) {
    int32_t token = 0;
    if (constrained) {
      OFFICINA_TRY(token, constrained->sample(logits, history));
    } else {
      token = sampler.sample(logits, history);
    }
    // Under a grammar an end-of-generation token is only drawn once the
    // output is complete, so it always ends the output.
    if ((options.stop_at_end_of_generation || constrained) && tokenizer.is_end_of_generation(token)) {
      result.finish = FinishReason::Stop;
      break;
    }
    result.tokens.push_back(token);
    history.push_back(token);
    emit(decoder.feed(token));
    if (constrained) {
      OFFICINA_CHECK(constrained->accept(token));
      if (constrained->matcher().must_end()) {
        result.finish = FinishReason::Stop;
        break;
      }
    }
    if (stopped_by_callback) {
      result.finish = FinishReason::Callback;
      break;
    }
    if (step + 1 == options.max_tokens) break;
    BatchRow row{token, slot, static_cast<int32_t>(history.size() - 1), options.adapter, true};
    OFFICINA_CHECK(transformer.forward(std::span(&row, 1), cache, logits));
  }
  emit(decoder.flush());
  if (constrained) {
    result.grammar_masked_steps = constrained->stats().masked;
    result.grammar_complete = constrained->matcher().is_complete();
  }
  result.generate_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return result;
}

}  // namespace officina
