// Added tokens: strings matched in the raw text before normalization and
// BPE, leftmost first and longest first at a position. Special tokens
// (tokenizer.json "special": true, GGUF CONTROL/UNKNOWN) are matched only
// when the caller asks (parse_special); the others (GGUF USER_DEFINED,
// non-special added tokens) always. lstrip/rstrip absorb the whitespace
// beside a match; single_word matches only between non-word characters.
// Thread-safety: immutable after finish(); split() is const.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace officina {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// A piece of the input: plain text for the BPE, or one added token.
struct TextSegment {
  std::string_view text;  // the matched text (with stripped spaces) for tokens
  size_t offset = 0;      // byte offset in the input
  int32_t token = -1;     // >= 0: an added token's id
};

class AddedTokenMatcher {
 public:
  // Empty contents are ignored; a later duplicate of a content is ignored.
  void add(AddedToken token);
  // Sorts the candidates; call once after the last add().
  void finish();
  bool empty() const { return tokens_.empty(); }
  const std::vector<AddedToken>& tokens() const { return tokens_; }

  // Splits text into plain segments and token segments, in order. Plain
  // segments are never empty.
  void split(std::string_view text, bool parse_special, std::vector<TextSegment>& out) const;

 private:
  // The longest allowed token starting at pos, or nullptr.
  const AddedToken* match_at(std::string_view text, size_t pos, bool parse_special) const;

  std::vector<AddedToken> tokens_;
  std::unordered_set<std::string> contents_;
  // Indices into tokens_ by first byte, longest content first.
  std::array<std::vector<uint32_t>, 256> by_first_byte_;
};

}  // namespace officina
