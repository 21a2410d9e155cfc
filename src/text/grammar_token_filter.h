// Which tokens of a vocabulary may come next under a grammar.
//
// Built once per tokenizer: the byte strings of all ordinary tokens go into a
// byte trie, so tokens sharing a prefix ("{\"", "{\"name") are checked once
// for the shared part and a rejected prefix prunes its whole subtree. Control
// tokens (<s>, <unk>, ...) are never allowed; end-of-generation tokens are
// allowed exactly when the matcher's text is a complete sentence.
//
// Thread-safety: immutable after construction; const members may run
// concurrently on different matchers (the walk's scratch lives in the
// matcher). The tokenizer is only read by the constructor.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "text/grammar_matcher.h"
#include "text/tokenizer.h"

namespace officina {

class GrammarTokenFilter {
 public:
  explicit GrammarTokenFilter(const Tokenizer& tokenizer);

  int32_t vocab_size() const { return static_cast<int32_t>(kinds_.size()); }
  // The bytes a token adds to the text (empty for control tokens).
  std::string_view token_bytes(int32_t id) const;
  bool is_end_of_generation(int32_t id) const;

  // Whether `token` may come next (one token: the sampler's fast path).
  bool allows(const GrammarMatcher& matcher, int32_t token) const;
  // Every token that may come next, in trie order (not sorted by id).
  void allowed_tokens(const GrammarMatcher& matcher, std::vector<int32_t>& out) const;
  // Sets the logits of disallowed tokens to -inf ([vocab] row); `allowed`
  // is scratch and receives the allowed ids. Returns how many are allowed.
  size_t mask_logits(const GrammarMatcher& matcher, std::span<float> logits, std::vector<int32_t>& allowed) const;
  // Advances the matcher over the token; false (matcher unchanged) when the
  // grammar rejects it. End-of-generation tokens add no text.
  bool accept(GrammarMatcher& matcher, int32_t token) const;

 private:
  enum class Kind : uint8_t { Text, EndOfGeneration, Never };
  struct TrieNode {
    uint32_t first_child = 0;
    uint32_t child_count = 0;
    uint32_t tokens_begin = 0;  // ids in trie_tokens_ that end here
    uint32_t tokens_end = 0;
    uint8_t byte = 0;
  };
  struct Entry;
  void build(uint32_t node, std::vector<Entry>& entries, size_t lo, size_t hi, size_t depth);
  void walk(const GrammarMatcher& matcher, uint32_t node, size_t depth, std::vector<int32_t>& out) const;

  std::vector<Kind> kinds_;
  std::string bytes_;              // all token bytes back to back
  std::vector<uint32_t> offsets_;  // [vocab + 1] into bytes_
  std::vector<int32_t> end_of_generation_;
  std::vector<TrieNode> trie_;     // node 0 = root; children contiguous
  std::vector<int32_t> trie_tokens_;
  size_t max_depth_ = 0;
};

}  // namespace officina
