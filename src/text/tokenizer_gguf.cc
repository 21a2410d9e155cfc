// Loading a tokenizer from GGUF metadata (tokenizer.ggml.*), as written by
// llama.cpp's converters: "llama" = SentencePiece BPE with scores and byte
// fallback, "gpt2" = byte-level BPE with a merges list and a pre-tokenizer
// named by tokenizer.ggml.pre.
#include <fmt/format.h>

#include "formats/gguf_file.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"

namespace officina {

namespace {

constexpr std::string_view kModelKey = "tokenizer.ggml.model";
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";
constexpr std::string_view kTypesKey = "tokenizer.ggml.token_type";
constexpr std::string_view kMergesKey = "tokenizer.ggml.merges";
constexpr std::string_view kPreKey = "tokenizer.ggml.pre";

// An optional array of the given length; nullptr when absent.
Result<const GgufArray*> optional_array(const GgufFile& gguf, std::string_view key, size_t expected_size) {
  if (gguf.find(key) == nullptr) return nullptr;
  OFFICINA_TRY(const GgufArray* array, gguf.get_array(key));
  if (array->items.size() != expected_size)
    return fail("{}: metadata '{}' has {} entries, expected {} (one per token)", gguf.where(), key, array->items.size(),
                expected_size);
  return array;
}

Result<std::optional<int64_t>> optional_int(const GgufFile& gguf, std::string_view key) {
  if (gguf.find(key) == nullptr) return std::optional<int64_t>();
  OFFICINA_TRY(int64_t v, gguf.get_int(key));
  return std::optional<int64_t>(v);
}

Result<bool> bool_or(const GgufFile& gguf, std::string_view key, bool fallback) {
  if (gguf.find(key) == nullptr) return fallback;
  return gguf.get_bool(key);
}

// A special token id: absent is -1; present must name a token.
Result<int32_t> special_id(const GgufFile& gguf, std::string_view key, int32_t vocab_size) {
  OFFICINA_TRY(auto id, optional_int(gguf, key));
  if (!id) return -1;
  if (*id < 0 || *id >= vocab_size)
    return fail("{}: metadata '{}' = {} is outside the vocabulary ({} tokens)", gguf.where(), key, *id, vocab_size);
  return static_cast<int32_t>(*id);
}

Result<void> load_tokens(const GgufFile& gguf, Tokenizer::Impl& impl, bool need_scores) {
  const std::string& where = gguf.where();
  OFFICINA_TRY(const GgufArray* tokens, gguf.get_array(kTokensKey));
  if (tokens->items.empty()) return fail("{}: metadata '{}' is empty (no vocabulary)", where, kTokensKey);
  if (tokens->items.size() >= static_cast<size_t>(INT32_MAX))
    return fail("{}: metadata '{}' has too many entries ({})", where, kTokensKey, tokens->items.size());
  const size_t n = tokens->items.size();
  OFFICINA_TRY(const GgufArray* scores, optional_array(gguf, kScoresKey, n));
  OFFICINA_TRY(const GgufArray* types, optional_array(gguf, kTypesKey, n));
  if (need_scores && scores == nullptr)
    return fail("{}: metadata '{}' missing (a SentencePiece vocabulary merges by score)", where, kScoresKey);

  impl.vocab = Vocabulary();
  std::string key;
  for (size_t i = 0; i < n; ++i) {
    key = fmt::format("{}[{}]", kTokensKey, i);
    OFFICINA_TRY(std::string text, tokens->items[i].as_string(key));
    if (size_t bad = utf8_find_invalid(text); bad != std::string::npos)
      return fail("{}: {}: invalid UTF-8 at byte {} of '{}'", where, key, bad, utf8_printable(text));
    float score = 0.0f;
    if (scores) {
      key = fmt::format("{}[{}]", kScoresKey, i);
      OFFICINA_TRY(double s, scores->items[i].as_float(key));
      score = static_cast<float>(s);
    }
    TokenType type = TokenType::Normal;
    if (types) {
      key = fmt::format("{}[{}]", kTypesKey, i);
      OFFICINA_TRY(int64_t t, types->items[i].as_int(key));
      if (t < 0 || t > static_cast<int64_t>(TokenType::Byte))
        return fail("{}: {}: unknown token type {} (expected 0..6)", where, key, t);
      type = static_cast<TokenType>(t);
    } else if (need_scores && parse_byte_token(text)) {
      type = TokenType::Byte;  // no types recorded: recognise byte fallback tokens by name
    }
    impl.vocab.add(std::move(text), type, score);
  }
  return {};
}

Result<void> load_merges(const GgufFile& gguf, Tokenizer::Impl& impl) {
  const std::string& where = gguf.where();
  OFFICINA_TRY(const GgufArray* merges, gguf.get_array(kMergesKey));
  impl.bpe.reserve(merges->items.size());
  std::string key;
  for (size_t i = 0; i < merges->items.size(); ++i) {
    key = fmt::format("{}[{}]", kMergesKey, i);
    OFFICINA_TRY(std::string line, merges->items[i].as_string(key));
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos)
      return fail("{}: {}: expected \"left right\", found '{}'", where, key, utf8_printable(line));
    const std::string_view left_text = std::string_view(line).substr(0, space);
    const std::string_view right_text = std::string_view(line).substr(space + 1);
    auto left = impl.vocab.find_text(left_text);
    if (!left) return fail("{}: {}: merge refers to unknown token '{}'", where, key, utf8_printable(left_text));
    auto right = impl.vocab.find_text(right_text);
    if (!right) return fail("{}: {}: merge refers to unknown token '{}'", where, key, utf8_printable(right_text));
    std::string joined = std::string(left_text) + std::string(right_text);
    auto result = impl.vocab.find_text(joined);
    if (!result) return fail("{}: {}: merged token '{}' is not in the vocabulary", where, key, utf8_printable(joined));
    impl.bpe.add_rule(*left, *right, static_cast<int32_t>(i), *result);
  }
  return {};
}

Result<SplitPattern> pre_tokenizer_pattern(const GgufFile& gguf) {
  if (gguf.find(kPreKey) == nullptr) return SplitPattern::Gpt2;
  OFFICINA_TRY(std::string pre, gguf.get_string(kPreKey));
  // Files converted before pre-tokenizers were recorded say "default":
  // GPT-2's pattern, the byte-level default.
  if (pre == "default") return SplitPattern::Gpt2;
  auto pattern = split_pattern_from_gguf_pre(pre);
  if (!pattern)
    return fail("{}: metadata '{}' = '{}' is not a supported pre-tokenizer (supported: {})", gguf.where(), kPreKey,
                utf8_printable(pre), split_pattern_supported_gguf_names());
  return *pattern;
}

}  // namespace

Result<Tokenizer> Tokenizer::from_gguf(const GgufFile& gguf) {
  const std::string& where = gguf.where();
  OFFICINA_TRY(std::string model, gguf.get_string(kModelKey));
  auto impl = std::make_unique<Impl>();
  impl->where = where;
  if (model == "llama") {
    impl->kind = TokenizerKind::SentencePieceBpe;
  } else if (model == "gpt2") {
    impl->kind = TokenizerKind::ByteLevelBpe;
  } else if (model == "bert" || model == "t5" || model == "rwkv" || model == "ugm" || model == "plamo2") {
    return fail("{}: metadata '{}' = '{}' is not supported (officina reads 'llama' and 'gpt2' vocabularies)", where,
                kModelKey, model);
  } else if (model == "no_vocab" || model == "none") {
    return fail("{}: the model has no vocabulary ('{}' = '{}')", where, kModelKey, model);
  } else {
    return fail("{}: metadata '{}' = '{}': unknown tokenizer model (expected 'llama' or 'gpt2')", where, kModelKey,
                utf8_printable(model));
  }
  const bool byte_level = impl->kind == TokenizerKind::ByteLevelBpe;
  OFFICINA_CHECK(load_tokens(gguf, *impl, !byte_level));
  Vocabulary& vocab = impl->vocab;
  vocab.build_index(byte_level, vocab.tokens_of_types({TokenType::Normal, TokenType::Unused, TokenType::Undefined}));

  BpeOptions& options = impl->bpe.options();
  options.byte_level = byte_level;
  if (byte_level) {
    OFFICINA_CHECK(load_merges(gguf, *impl));
    OFFICINA_TRY(SplitPattern pattern, pre_tokenizer_pattern(gguf));
    PreTokenizerStep split;
    split.kind = PreTokenizerStep::Kind::Split;
    split.pattern = pattern;
    impl->pipeline.pre_tokenizer.push_back(split);
    // Llama 3's tokenizer.json sets ignore_merges; llama.cpp does the same
    // for this pre-tokenizer.
    options.ignore_merges = pattern == SplitPattern::Llama3;
  } else {
    options.byte_fallback = true;
    options.fuse_unk = true;
    impl->bpe.add_rules_from_scores(vocab);
    OFFICINA_TRY(bool add_space_prefix, bool_or(gguf, "tokenizer.ggml.add_space_prefix", true));
    if (add_space_prefix)
      impl->pipeline.normalizer.push_back({NormalizerStep::Kind::Prepend, "", std::string(kSentencePieceSpace)});
    impl->pipeline.normalizer.push_back({NormalizerStep::Kind::Replace, " ", std::string(kSentencePieceSpace)});
  }

  const int32_t n = vocab.size();
  OFFICINA_TRY(impl->bos, special_id(gguf, "tokenizer.ggml.bos_token_id", n));
  OFFICINA_TRY(impl->eos, special_id(gguf, "tokenizer.ggml.eos_token_id", n));
  OFFICINA_TRY(options.unk_id, special_id(gguf, "tokenizer.ggml.unknown_token_id", n));
  OFFICINA_TRY(impl->eot, special_id(gguf, "tokenizer.ggml.eot_token_id", n));
  OFFICINA_TRY(impl->eom, special_id(gguf, "tokenizer.ggml.eom_token_id", n));
  OFFICINA_TRY(impl->add_bos, bool_or(gguf, "tokenizer.ggml.add_bos_token", !byte_level));
  if (!byte_level && options.unk_id < 0) {
    if (auto unk = vocab.find_text("<unk>")) options.unk_id = *unk;
  }

  for (int32_t id = 0; id < n; ++id) {
    const TokenType type = vocab.type[id];
    if (type != TokenType::Control && type != TokenType::Unknown && type != TokenType::UserDefined) continue;
    AddedToken token;
    token.content = vocab.text[id];
    token.id = id;
    token.special = type != TokenType::UserDefined;
    impl->added.add(std::move(token));
  }
  impl->has_scores = !byte_level;
  const int32_t extra_end[] = {impl->eot, impl->eom};
  OFFICINA_CHECK(impl->finish(extra_end));
  return Tokenizer(std::move(impl));
}

}  // namespace officina
