// Tokenizer -> GGUF tokenizer.ggml.* metadata (the inverse of from_gguf).
#include <fmt/format.h>

#include "text/tokenizer_impl.h"

namespace officina {

namespace {

using Metadata = std::vector<std::pair<std::string, GgufValue>>;

// GGUF "llama" vocabularies merge by score. Read from tokenizer.json they
// have merge ranks instead: a token produced by the merge of rank r scores
// -r, so the better rank wins as in the merges list. Tokens no merge
// produces score below every merge (plain characters, bytes, specials are
// never split, so their score does not matter).
std::vector<float> scores_from_ranks(const Tokenizer::Impl& impl) {
  const Vocabulary& vocab = impl.vocab;
  const auto rules = impl.bpe.rules_by_rank();
  const float unreached = -static_cast<float>(rules.size()) - 1.0f;
  std::vector<float> scores(vocab.size(), unreached);
  std::vector<bool> set(vocab.size(), false);
  for (const auto& rule : rules) {
    if (set[rule.result]) continue;  // rules come best first: keep the best rank
    scores[rule.result] = -static_cast<float>(rule.rank);
    set[rule.result] = true;
  }
  for (int32_t id = 0; id < vocab.size(); ++id)
    if (vocab.type[id] != TokenType::Normal) scores[id] = 0.0f;
  return scores;
}

Result<std::string_view> byte_level_pre_name(const Tokenizer::Impl& impl) {
  std::optional<SplitPattern> pattern;
  for (const PreTokenizerStep& step : impl.pipeline.pre_tokenizer) {
    if (step.kind == PreTokenizerStep::Kind::Split && !pattern) {
      pattern = step.pattern;
    } else if (step.kind == PreTokenizerStep::Kind::ByteLevel && !step.add_prefix_space) {
      if (step.use_regex && !pattern) pattern = SplitPattern::Gpt2;
    } else {
      return fail(
          "{}: this pre-tokenizer sequence has no GGUF equivalent (tokenizer.ggml.pre names one split "
          "pattern)",
          impl.where);
    }
  }
  if (!impl.pipeline.normalizer.empty())
    return fail("{}: a normalizer on a byte-level vocabulary has no GGUF equivalent", impl.where);
  switch (pattern.value_or(SplitPattern::Gpt2)) {
    case SplitPattern::Llama3:
      return std::string_view("llama-bpe");
    case SplitPattern::Qwen2:
      return std::string_view("qwen2");
    case SplitPattern::Gpt2:
      return std::string_view("gpt-2");
  }
  return std::string_view("gpt-2");
}

Result<void> check_sentencepiece_pipeline(const Tokenizer::Impl& impl) {
  for (const PreTokenizerStep& step : impl.pipeline.pre_tokenizer)
    if (step.kind != PreTokenizerStep::Kind::Metaspace || step.split)
      return fail("{}: this pre-tokenizer has no GGUF equivalent for a SentencePiece vocabulary", impl.where);
  for (const NormalizerStep& step : impl.pipeline.normalizer) {
    const bool space_marker =
        step.kind == NormalizerStep::Kind::Replace && step.pattern == " " && step.content == kSentencePieceSpace;
    const bool prefix =
        step.kind == NormalizerStep::Kind::Prepend && (step.content == kSentencePieceSpace || step.content == " ");
    if (!space_marker && !prefix)
      return fail("{}: this normalizer has no GGUF equivalent for a SentencePiece vocabulary", impl.where);
  }
  return {};
}

GgufValue string_array(std::vector<std::string> items) {
  std::vector<GgufValue> values;
  values.reserve(items.size());
  for (std::string& s : items) values.push_back(GgufValue::string(std::move(s)));
  return GgufValue::array(GgufType::STRING, std::move(values));
}

}  // namespace

Result<Metadata> Tokenizer::gguf_metadata() const {
  const Impl& impl = *impl_;
  const Vocabulary& vocab = impl.vocab;
  const bool byte_level = impl.kind == TokenizerKind::ByteLevelBpe;
  Metadata out;
  out.emplace_back("tokenizer.ggml.model", GgufValue::string(byte_level ? "gpt2" : "llama"));
  std::string_view pre = "default";
  if (byte_level) {
    OFFICINA_TRY(pre, byte_level_pre_name(impl));
  } else {
    OFFICINA_CHECK(check_sentencepiece_pipeline(impl));
  }
  out.emplace_back("tokenizer.ggml.pre", GgufValue::string(std::string(pre)));

  std::vector<std::string> tokens(vocab.text.begin(), vocab.text.end());
  // Holes in a tokenizer.json id space get placeholder names (GGUF tokens
  // must be distinct strings to be found again).
  for (int32_t id = 0; id < vocab.size(); ++id)
    if (tokens[id].empty()) tokens[id] = fmt::format("[PAD{}]", id);
  out.emplace_back("tokenizer.ggml.tokens", string_array(std::move(tokens)));

  if (!byte_level) {
    const std::vector<float> scores = impl.has_scores ? vocab.score : scores_from_ranks(impl);
    std::vector<GgufValue> values;
    values.reserve(scores.size());
    for (float s : scores) values.push_back(GgufValue::f32(s));
    out.emplace_back("tokenizer.ggml.scores", GgufValue::array(GgufType::FLOAT32, std::move(values)));
  }
  std::vector<GgufValue> types;
  types.reserve(vocab.size());
  for (TokenType t : vocab.type) types.push_back(GgufValue::i32(static_cast<int32_t>(t)));
  out.emplace_back("tokenizer.ggml.token_type", GgufValue::array(GgufType::INT32, std::move(types)));

  if (byte_level) {
    std::vector<std::string> merges;
    for (const auto& rule : impl.bpe.rules_by_rank())
      merges.push_back(fmt::format("{} {}", vocab.text[rule.left], vocab.text[rule.right]));
    out.emplace_back("tokenizer.ggml.merges", string_array(std::move(merges)));
  }
  auto put_id = [&](std::string key, int32_t id) {
    if (id >= 0) out.emplace_back(std::move(key), GgufValue::u32(static_cast<uint32_t>(id)));
  };
  put_id("tokenizer.ggml.bos_token_id", impl.bos);
  put_id("tokenizer.ggml.eos_token_id", impl.eos);
  put_id("tokenizer.ggml.unknown_token_id", impl.bpe.options().unk_id);
  put_id("tokenizer.ggml.eot_token_id", impl.eot);
  put_id("tokenizer.ggml.eom_token_id", impl.eom);
  out.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(impl.add_bos));
  out.emplace_back("tokenizer.ggml.add_eos_token", GgufValue::boolean(false));
  if (!byte_level)
    out.emplace_back("tokenizer.ggml.add_space_prefix", GgufValue::boolean(impl.pipeline.adds_prefix_space()));
  return out;
}

}  // namespace officina
