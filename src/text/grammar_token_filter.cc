#include "text/grammar_token_filter.h"

#include <algorithm>
#include <limits>

namespace officina {

struct GrammarTokenFilter::Entry {
  std::string_view bytes;
  int32_t id;
};

GrammarTokenFilter::GrammarTokenFilter(const Tokenizer& tokenizer) {
  const int32_t vocab = tokenizer.vocab_size();
  kinds_.resize(vocab, Kind::Never);
  offsets_.reserve(vocab + 1);
  for (int32_t id = 0; id < vocab; ++id) {
    offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
    if (tokenizer.is_end_of_generation(id)) {
      kinds_[id] = Kind::EndOfGeneration;
      end_of_generation_.push_back(id);
      continue;
    }
    if (tokenizer.is_special(id)) continue;
    std::string b = tokenizer.token_bytes(id);
    if (b.empty()) continue;
    kinds_[id] = Kind::Text;
    bytes_ += b;
  }
  offsets_.push_back(static_cast<uint32_t>(bytes_.size()));

  std::vector<Entry> entries;
  for (int32_t id = 0; id < vocab; ++id)
    if (kinds_[id] == Kind::Text) entries.push_back({token_bytes(id), id});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.bytes < b.bytes || (a.bytes == b.bytes && a.id < b.id);
  });
  trie_.emplace_back();
  build(0, entries, 0, entries.size(), 0);
}

// entries[lo, hi) share their first `depth` bytes; those of exactly that
// length end at `node`, the rest are grouped by their next byte.
void GrammarTokenFilter::build(uint32_t node, std::vector<Entry>& entries, size_t lo, size_t hi, size_t depth) {
  max_depth_ = std::max(max_depth_, depth);
  size_t i = lo;
  trie_[node].tokens_begin = static_cast<uint32_t>(trie_tokens_.size());
  while (i < hi && entries[i].bytes.size() == depth) trie_tokens_.push_back(entries[i++].id);
  trie_[node].tokens_end = static_cast<uint32_t>(trie_tokens_.size());
  std::vector<std::pair<size_t, size_t>> groups;
  for (size_t j = i; j < hi;) {
    size_t k = j;
    while (k < hi && entries[k].bytes[depth] == entries[j].bytes[depth]) ++k;
    groups.push_back({j, k});
    j = k;
  }
  const uint32_t first = static_cast<uint32_t>(trie_.size());
  trie_[node].first_child = first;
  trie_[node].child_count = static_cast<uint32_t>(groups.size());
  trie_.resize(trie_.size() + groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    trie_[first + g].byte = static_cast<uint8_t>(entries[groups[g].first].bytes[depth]);
    build(first + static_cast<uint32_t>(g), entries, groups[g].first, groups[g].second, depth + 1);
  }
}

std::string_view GrammarTokenFilter::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return std::string_view(bytes_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
}

bool GrammarTokenFilter::is_end_of_generation(int32_t id) const {
  return id >= 0 && id < vocab_size() && kinds_[id] == Kind::EndOfGeneration;
}

bool GrammarTokenFilter::allows(const GrammarMatcher& matcher, int32_t token) const {
  if (token < 0 || token >= vocab_size()) return false;
  switch (kinds_[token]) {
    case Kind::EndOfGeneration: return matcher.is_complete();
    case Kind::Never: return false;
    case Kind::Text: return matcher.can_accept(token_bytes(token));
  }
  return false;
}

bool GrammarTokenFilter::accept(GrammarMatcher& matcher, int32_t token) const {
  if (token < 0 || token >= vocab_size()) return false;
  switch (kinds_[token]) {
    case Kind::EndOfGeneration: return matcher.is_complete();
    case Kind::Never: return false;
    case Kind::Text: return matcher.accept(token_bytes(token));
  }
  return false;
}

void GrammarTokenFilter::walk(const GrammarMatcher& matcher, uint32_t node, size_t depth,
                              std::vector<int32_t>& out) const {
  const TrieNode& n = trie_[node];
  for (uint32_t c = n.first_child; c < n.first_child + n.child_count; ++c) {
    const TrieNode& child = trie_[c];
    if (!matcher.step_byte(matcher.levels_[depth], child.byte, matcher.levels_[depth + 1])) continue;
    out.insert(out.end(), trie_tokens_.begin() + child.tokens_begin, trie_tokens_.begin() + child.tokens_end);
    if (child.child_count > 0) walk(matcher, c, depth + 1, out);
  }
}

void GrammarTokenFilter::allowed_tokens(const GrammarMatcher& matcher, std::vector<int32_t>& out) const {
  out.clear();
  if (matcher.is_complete()) out.insert(out.end(), end_of_generation_.begin(), end_of_generation_.end());
  if (!matcher.can_continue()) return;
  if (matcher.levels_.size() < max_depth_ + 1) matcher.levels_.resize(max_depth_ + 1);
  matcher.levels_[0].tops = matcher.state_.tops;
  matcher.levels_[0].partial = matcher.state_.partial;
  matcher.overflow_ = false;
  const uint32_t mark = matcher.pool_mark();
  walk(matcher, 0, 0, out);
  matcher.pool_rollback(mark);
}

size_t GrammarTokenFilter::mask_logits(const GrammarMatcher& matcher, std::span<float> logits,
                                       std::vector<int32_t>& allowed) const {
  allowed_tokens(matcher, allowed);
  // Keep the allowed values aside, wipe the row, put them back: two passes
  // over the allowed ids and one fill, instead of a lookup per token.
  std::vector<float> keep;
  keep.reserve(allowed.size());
  for (int32_t id : allowed) keep.push_back(id < static_cast<int32_t>(logits.size()) ? logits[id] : 0.0f);
  std::fill(logits.begin(), logits.end(), -std::numeric_limits<float>::infinity());
  for (size_t i = 0; i < allowed.size(); ++i)
    if (allowed[i] < static_cast<int32_t>(logits.size())) logits[allowed[i]] = keep[i];
  return allowed.size();
}

}  // namespace officina
