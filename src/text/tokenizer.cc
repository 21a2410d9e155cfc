#include "text/tokenizer.h"

#include <algorithm>
#include <array>

#include "text/tokenizer_impl.h"

namespace officina {

namespace {

constexpr std::array<std::string_view, 10> kEndOfGenerationNames = {
    "</s>",       "<|eot_id|>",    "<|eom_id|>", "<|end_of_text|>", "<|endoftext|>",
    "<|im_end|>", "<end_of_turn>", "<|end|>",    "<eos>",           "<|END_OF_TURN_TOKEN|>",
};
constexpr std::array<std::string_view, 5> kFallbackEosNames = {
    "</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>",
};

}  // namespace

std::span<const std::string_view> end_of_generation_token_names() { return kEndOfGenerationNames; }
std::span<const std::string_view> fallback_eos_token_names() { return kFallbackEosNames; }

Result<void> Tokenizer::Impl::finish(std::span<const int32_t> extra_end_ids) {
  if (vocab.size() == 0) return fail("{}: the vocabulary is empty", where);
  if (bos >= vocab.size()) return fail("{}: BOS id {} is outside the vocabulary ({} tokens)", where, bos, vocab.size());
  if (eos >= vocab.size()) return fail("{}: EOS id {} is outside the vocabulary ({} tokens)", where, eos, vocab.size());
  if (bos < 0) add_bos = false;
  end_of_generation.clear();
  if (eos >= 0) end_of_generation.push_back(eos);
  for (int32_t id : extra_end_ids)
    if (vocab.valid_id(id)) end_of_generation.push_back(id);
  for (std::string_view name : kEndOfGenerationNames) {
    auto id = vocab.find_text(name);
    if (id && vocab.type[*id] == TokenType::Control) end_of_generation.push_back(*id);
  }
  std::sort(end_of_generation.begin(), end_of_generation.end());
  end_of_generation.erase(std::unique(end_of_generation.begin(), end_of_generation.end()), end_of_generation.end());
  strip_leading_space = kind == TokenizerKind::SentencePieceBpe && pipeline.adds_prefix_space();
  added.finish();
  return {};
}

void Tokenizer::Impl::encode(std::string_view text, bool add_bos_token, bool parse_special,
                             std::vector<int32_t>& out) const {
  if (add_bos_token && bos >= 0) out.push_back(bos);
  std::vector<TextSegment> segments;
  added.split(text, parse_special, segments);
  std::vector<std::string> words;
  for (const TextSegment& segment : segments) {
    if (segment.token >= 0) {
      out.push_back(segment.token);
      continue;
    }
    words.clear();
    pipeline.run(segment.text, segment.offset == 0, words);
    for (const std::string& word : words) bpe.encode_word(vocab, word, out);
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

TokenizerKind Tokenizer::kind() const { return impl_->kind; }
int32_t Tokenizer::vocab_size() const { return impl_->vocab.size(); }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
bool Tokenizer::add_bos_default() const { return impl_->add_bos; }

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return std::binary_search(impl_->end_of_generation.begin(), impl_->end_of_generation.end(), id);
}

bool Tokenizer::is_special(int32_t id) const { return impl_->vocab.is_special(id); }
bool Tokenizer::decode_strips_leading_space() const { return impl_->strip_leading_space; }

std::optional<int32_t> Tokenizer::token_id(std::string_view token_text) const {
  return impl_->vocab.find_text(token_text);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  impl_->encode(text, add_bos, parse_special, out);
  return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (!impl_->vocab.valid_id(id)) return {};
  return impl_->vocab.bytes[id];
}

const std::string& Tokenizer::token_text(int32_t id) const {
  static const std::string kNone;
  if (!impl_->vocab.valid_id(id)) return kNone;
  return impl_->vocab.text[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const Vocabulary& vocab = impl_->vocab;
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    if (!vocab.valid_id(id)) continue;
    if (skip_special && vocab.is_special(id)) continue;
    std::string_view piece = vocab.bytes[id];
    // Only the very first piece's space can be the one encode() prepended.
    if (first && impl_->strip_leading_space && piece.starts_with(' ')) piece.remove_prefix(1);
    first = false;
    out.append(piece);
  }
  return out;
}

}  // namespace officina
