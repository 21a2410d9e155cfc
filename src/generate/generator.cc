#include "generate/generator.h"

#include <algorithm>
#include <chrono>

namespace officina {

DecodeOptions GenerateOptions::decode_options() const {
  DecodeOptions d;
  d.max_tokens = max_tokens;
  d.sampling = sampling;
  d.stop_at_end_of_generation = stop_at_end_of_generation;
  d.grammar = grammar;
  d.token_filter = token_filter;
  d.stop = stop;
  d.top_logprobs = top_logprobs;
  return d;
}

Result<GenerateResult> generate(Transformer& transformer, KvCache& cache, int32_t slot,
                                std::span<const int32_t> prompt, const GenerateOptions& options,
                                const TextCallback& on_text) {
  using Clock = std::chrono::steady_clock;
  if (prompt.empty()) return fail("generate: the prompt has no tokens");
  if (static_cast<int64_t>(prompt.size()) >= cache.context())
    return fail("context full: the prompt has {} tokens but the context holds {} (raise --ctx)", prompt.size(),
                cache.context());
  std::unique_ptr<SequenceDecoder> decoder;
  OFFICINA_TRY(decoder, SequenceDecoder::create(transformer.model().tokenizer(), prompt, options.decode_options()));
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

  bool stopped_by_callback = false;
  auto emit = [&](const std::string& piece) {
    if (piece.empty()) return;
    result.text += piece;
    if (on_text && !on_text(piece)) stopped_by_callback = true;
  };
  if (options.max_tokens > 0) {
    while (true) {
      DecodeStep step;
      OFFICINA_TRY(step, decoder->step(logits));
      if (step.logprob) result.logprobs.emplace_back(*step.logprob, std::move(step.top));
      emit(step.text);
      if (step.finished) {
        result.finish = step.finish;
        break;
      }
      if (stopped_by_callback) {
        emit(decoder->finish());
        result.finish = FinishReason::Callback;
        break;
      }
      BatchRow row{step.token, slot, static_cast<int32_t>(prompt.size() + decoder->generated().size() - 1),
                   options.adapter, true};
      OFFICINA_CHECK(transformer.forward(std::span(&row, 1), cache, logits));
    }
  }
  result.tokens.assign(decoder->generated().begin(), decoder->generated().end());
  result.grammar_masked_steps = decoder->grammar_masked_steps();
  result.grammar_complete = decoder->grammar_complete();
  result.generate_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return result;
}

}  // namespace officina
