#include "text/added_tokens.h"

#include <algorithm>

#include "text/unicode_tables.h"
#include "text/utf8.h"

namespace officina {

namespace {

// The code point that ends just before `end` (U+FFFD for an invalid byte).
Utf8Char decode_before(std::string_view text, size_t end) {
  size_t start = end - 1;
  // Back up over at most three continuation bytes to a lead byte.
  while (start > 0 && end - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  Utf8Char c = utf8_decode(text, start);
  if (!c.valid || start + c.length != end) return {0xFFFD, 1, false};
  return c;
}

bool is_word_char(char32_t cp) { return cp == '_' || unicode_is_letter(cp) || unicode_is_number(cp); }

}  // namespace

void AddedTokenMatcher::add(AddedToken token) {
  if (token.content.empty() || !contents_.insert(token.content).second) return;
  tokens_.push_back(std::move(token));
}

void AddedTokenMatcher::finish() {
  for (auto& list : by_first_byte_) list.clear();
  for (uint32_t i = 0; i < tokens_.size(); ++i)
    by_first_byte_[static_cast<uint8_t>(tokens_[i].content[0])].push_back(i);
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](uint32_t a, uint32_t b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
  }
}

const AddedToken* AddedTokenMatcher::match_at(std::string_view text, size_t pos, bool parse_special) const {
  for (uint32_t index : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
    const AddedToken& t = tokens_[index];
    if (t.special && !parse_special) continue;
    if (text.compare(pos, t.content.size(), t.content) != 0) continue;
    if (t.single_word) {
      const size_t end = pos + t.content.size();
      if (pos > 0 && is_word_char(decode_before(text, pos).code_point)) continue;
      if (end < text.size() && is_word_char(utf8_decode(text, end).code_point)) continue;
    }
    return &t;
  }
  return nullptr;
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special, std::vector<TextSegment>& out) const {
  size_t plain_start = 0;  // start of the pending plain segment
  size_t pos = 0;
  auto emit_plain = [&](size_t end) {
    if (end > plain_start) out.push_back({text.substr(plain_start, end - plain_start), plain_start, -1});
  };
  while (pos < text.size()) {
    const AddedToken* t = empty() ? nullptr : match_at(text, pos, parse_special);
    if (t == nullptr) {
      ++pos;
      continue;
    }
    size_t begin = pos;
    size_t end = pos + t->content.size();
    if (t->lstrip) {
      while (begin > plain_start) {
        Utf8Char c = decode_before(text, begin);
        if (!unicode_is_whitespace(c.code_point)) break;
        begin -= c.length;
      }
    }
    if (t->rstrip) {
      while (end < text.size()) {
        Utf8Char c = utf8_decode(text, end);
        if (!unicode_is_whitespace(c.code_point)) break;
        end += c.length;
      }
    }
    emit_plain(begin);
    out.push_back({text.substr(begin, end - begin), begin, t->id});
    pos = end;
    plain_start = end;
  }
  emit_plain(text.size());
}

}  // namespace officina
