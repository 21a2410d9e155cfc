#include "generate/sequence_decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace officina {

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Length: return "length";
    case FinishReason::Stop: return "stop";
    case FinishReason::Callback: return "callback";
  }
  return "?";
}

float log_sum_exp(std::span<const float> logits) {
  float max = -std::numeric_limits<float>::infinity();
  for (float v : logits) max = std::max(max, v);
  if (!std::isfinite(max)) return max;
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - max));
  return max + static_cast<float>(std::log(sum));
}

TokenLogprob token_logprob(std::span<const float> logits, int32_t token, float log_sum) {
  return {token, logits[static_cast<size_t>(token)] - log_sum};
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t count, float log_sum) {
  std::vector<TokenLogprob> top;
  const size_t n = std::min<size_t>(static_cast<size_t>(std::max(count, 0)), logits.size());
  if (n == 0) return top;
  std::vector<int32_t> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
           (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
  });
  for (size_t i = 0; i < n; ++i) top.push_back(token_logprob(logits, order[i], log_sum));
  return top;
}

SequenceDecoder::SequenceDecoder(const Tokenizer& tokenizer, std::span<const int32_t> prompt, const DecodeOptions& options)
    : tokenizer_(tokenizer),
      options_(options),
      sampler_(options.sampling),
      // The text continues the prompt, so a leading space is real text.
      stream_(tokenizer, TokenStreamOptions{.skip_special = true, .strip_leading_space = false}),
      history_(prompt.begin(), prompt.end()) {
  std::erase_if(options_.stop, [](const std::string& s) { return s.empty(); });
}

Result<std::unique_ptr<SequenceDecoder>> SequenceDecoder::create(const Tokenizer& tokenizer,
                                                                 std::span<const int32_t> prompt,
                                                                 const DecodeOptions& options) {
  OFFICINA_CHECK(options.sampling.validate());
  std::unique_ptr<SequenceDecoder> decoder(new SequenceDecoder(tokenizer, prompt, options));
  if (options.grammar) {
    const GrammarTokenFilter* filter = options.token_filter;
    if (!filter) {
      decoder->own_filter_ = std::make_unique<GrammarTokenFilter>(tokenizer);
      filter = decoder->own_filter_.get();
    }
    if (filter->vocab_size() != tokenizer.vocab_size())
      return fail("generate: the grammar's token filter was built for a vocabulary of {} tokens, the model has {}",
                  filter->vocab_size(), tokenizer.vocab_size());
    decoder->constrained_.emplace(*options.grammar, *filter, options.sampling);
  }
  return decoder;
}

std::string SequenceDecoder::release(std::string piece, bool final, bool& hit_stop) {
  held_ += piece;
  std::string out;
  if (options_.stop.empty()) {
    out.swap(held_);
    return out;
  }
  size_t first = std::string::npos;
  for (const auto& s : options_.stop) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    out = held_.substr(0, first);
    held_.clear();
    hit_stop = true;
    return out;
  }
  size_t keep = 0;
  if (!final) {
    // The longest end of the held text that could still grow into a stop string.
    for (const auto& s : options_.stop)
      for (size_t k = std::min(s.size() - 1, held_.size()); k > keep; --k)
        if (std::string_view(held_).substr(held_.size() - k) == std::string_view(s).substr(0, k)) {
          keep = k;
          break;
        }
  }
  out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

Result<DecodeStep> SequenceDecoder::step(std::span<const float> logits) {
  DecodeStep result;
  if (done_) return fail("generate: the sequence has already finished");
  if (static_cast<int64_t>(generated_.size()) >= options_.max_tokens) {
    done_ = true;
    result.finished = true;
    result.text = finish();
    return result;
  }
  int32_t token = 0;
  if (constrained_) {
    OFFICINA_TRY(token, constrained_->sample(logits, history_));
  } else {
    token = sampler_.sample(logits, history_);
  }
  if (options_.top_logprobs >= 0) {
    const float log_sum = log_sum_exp(logits);
    result.logprob = token_logprob(logits, token, log_sum);
    result.top = top_logprobs(logits, options_.top_logprobs, log_sum);
  }
  // Under a grammar an end-of-generation token is only drawn once the output
  // is complete, so it always ends the output.
  if ((options_.stop_at_end_of_generation || constrained_) && tokenizer_.is_end_of_generation(token)) {
    result.finished = true;
    result.finish = FinishReason::Stop;
    result.logprob.reset();
    result.top.clear();
    result.text = finish();
    done_ = true;
    return result;
  }
  result.token = token;
  generated_.push_back(token);
  history_.push_back(token);
  bool hit_stop = false;
  result.text = release(stream_.feed(token), false, hit_stop);
  if (constrained_) {
    OFFICINA_CHECK(constrained_->accept(token));
    if (constrained_->matcher().must_end()) {
      result.finished = true;
      result.finish = FinishReason::Stop;
    }
  }
  if (hit_stop) {
    result.finished = true;
    result.finish = FinishReason::Stop;
  } else if (static_cast<int64_t>(generated_.size()) >= options_.max_tokens) {
    result.finished = true;
  }
  if (result.finished && !hit_stop) result.text += release(stream_.flush(), true, hit_stop);
  if (hit_stop) result.finish = FinishReason::Stop;
  text_ += result.text;
  done_ = result.finished;
  return result;
}

std::string SequenceDecoder::finish() {
  bool hit_stop = false;
  std::string out = release(stream_.flush(), true, hit_stop);
  text_ += out;
  done_ = true;
  return out;
}

int64_t SequenceDecoder::grammar_masked_steps() const { return constrained_ ? constrained_->stats().masked : 0; }
bool SequenceDecoder::grammar_complete() const { return constrained_ && constrained_->matcher().is_complete(); }

}  // namespace officina
