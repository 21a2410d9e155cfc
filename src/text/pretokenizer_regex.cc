#include "text/pretokenizer_regex.h"

#include <array>
#include <cstdint>
#include <utility>

#include "text/unicode_tables.h"
#include "text/utf8.h"

namespace officina {

namespace {

constexpr std::string_view kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr std::array<std::pair<std::string_view, SplitPattern>, 9> kGgufPreNames = {{
    {"llama-bpe", SplitPattern::Llama3},
    {"llama3", SplitPattern::Llama3},
    {"llama-v3", SplitPattern::Llama3},
    {"smaug-bpe", SplitPattern::Llama3},
    {"qwen2", SplitPattern::Qwen2},
    {"deepseek-r1-qwen", SplitPattern::Qwen2},
    {"gpt-2", SplitPattern::Gpt2},
    {"gpt2", SplitPattern::Gpt2},
    {"phi-2", SplitPattern::Gpt2},
}};

// One decoded character with the classes the patterns test.
struct CharInfo {
  char32_t cp;
  uint32_t offset;  // byte offset in the text
  bool letter;
  bool number;
  bool space;                                                  // \s
  bool newline;                                                // [\r\n]
  bool other() const { return !letter && !number && !space; }  // [^\s\p{L}\p{N}]
};

std::vector<CharInfo> classify(std::string_view text) {
  std::vector<CharInfo> chars;
  chars.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    Utf8Char c = utf8_decode(text, pos);
    // An invalid byte is a character of no class (U+FFFD is a symbol).
    const char32_t cp = c.code_point;
    chars.push_back({cp, static_cast<uint32_t>(pos), unicode_is_letter(cp), unicode_is_number(cp),
                     unicode_is_whitespace(cp), cp == '\r' || cp == '\n'});
    pos += c.length;
  }
  return chars;
}

// Simple case folding for the contraction letters: (?i) also folds the long
// s (U+017F) to 's'.
char32_t fold(char32_t cp, bool case_insensitive) {
  if (!case_insensitive) return cp;
  if (cp >= 'A' && cp <= 'Z') return cp + ('a' - 'A');
  if (cp == 0x017F) return 's';
  return cp;
}

class PatternMatcher {
 public:
  PatternMatcher(const std::vector<CharInfo>& chars, SplitPattern pattern)
      : c_(chars), n_(chars.size()), pattern_(pattern) {}

  // End (exclusive, in characters) of the match starting at i; always > i.
  size_t match(size_t i) const {
    if (size_t e = contraction(i)) return e;
    if (pattern_ == SplitPattern::Gpt2) {
      if (size_t e = optional_space_then_run(i, &CharInfo::letter, n_)) return e;
      if (size_t e = optional_space_then_run(i, &CharInfo::number, n_)) return e;
      if (size_t e = optional_space_then_other(i, false)) return e;
    } else {
      if (size_t e = letters_with_prefix(i)) return e;
      if (c_[i].number) return run(i, &CharInfo::number, pattern_ == SplitPattern::Llama3 ? 3 : 1);
      if (size_t e = optional_space_then_other(i, true)) return e;
      if (size_t e = spaces_through_last_newline(i)) return e;
    }
    if (size_t e = spaces_not_before_text(i)) return e;
    if (c_[i].space) return run(i, &CharInfo::space, n_);
    return i + 1;  // unreachable for these patterns: every class is covered above
  }

 private:
  // '(s|t|re|ve|m|ll|d), case-insensitive for Llama3/Qwen2.
  size_t contraction(size_t i) const {
    if (c_[i].cp != '\'' || i + 1 >= n_) return 0;
    const bool ci = pattern_ != SplitPattern::Gpt2;
    const char32_t a = fold(c_[i + 1].cp, ci);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 >= n_) return 0;
    const char32_t b = fold(c_[i + 2].cp, ci);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return 0;
  }

  // Up to max_count characters of a class starting at i (i itself must match).
  size_t run(size_t i, bool CharInfo::*cls, size_t max_count) const {
    size_t j = i;
    while (j < n_ && j - i < max_count && c_[j].*cls) ++j;
    return j;
  }

  // " ?X+" for a class X.
  size_t optional_space_then_run(size_t i, bool CharInfo::*cls, size_t max_count) const {
    size_t j = (c_[i].cp == ' ') ? i + 1 : i;
    if (j < n_ && c_[j].*cls) return run(j, cls, max_count);
    return 0;
  }

  // "[^\r\n\p{L}\p{N}]?\p{L}+"
  size_t letters_with_prefix(size_t i) const {
    size_t j = i;
    if (!c_[i].letter && !c_[i].number && !c_[i].newline) j = i + 1;
    if (j < n_ && c_[j].letter) return run(j, &CharInfo::letter, n_);
    return 0;
  }

  // " ?[^\s\p{L}\p{N}]+" followed by "[\r\n]*" when trailing_newlines.
  size_t optional_space_then_other(size_t i, bool trailing_newlines) const {
    size_t j = (c_[i].cp == ' ') ? i + 1 : i;
    if (j >= n_ || !c_[j].other()) return 0;
    while (j < n_ && c_[j].other()) ++j;
    if (trailing_newlines)
      while (j < n_ && c_[j].newline) ++j;
    return j;
  }

  // "\s*[\r\n]+": greedy \s* backs off to the last newline of the run.
  size_t spaces_through_last_newline(size_t i) const {
    if (!c_[i].space) return 0;
    const size_t end = run(i, &CharInfo::space, n_);
    for (size_t j = end; j > i; --j)
      if (c_[j - 1].newline) return j;
    return 0;
  }

  // "\s+(?!\S)": the run, minus its last space when text follows it.
  size_t spaces_not_before_text(size_t i) const {
    if (!c_[i].space) return 0;
    const size_t end = run(i, &CharInfo::space, n_);
    if (end == n_) return end;
    return end - i >= 2 ? end - 1 : 0;
  }

  const std::vector<CharInfo>& c_;
  size_t n_;
  SplitPattern pattern_;
};

}  // namespace

std::optional<SplitPattern> split_pattern_from_regex(std::string_view regex) {
  if (regex == kGpt2Regex) return SplitPattern::Gpt2;
  if (regex == kLlama3Regex) return SplitPattern::Llama3;
  if (regex == kQwen2Regex) return SplitPattern::Qwen2;
  return std::nullopt;
}

std::optional<SplitPattern> split_pattern_from_gguf_pre(std::string_view name) {
  for (const auto& [key, pattern] : kGgufPreNames)
    if (key == name) return pattern;
  return std::nullopt;
}

std::string_view split_pattern_name(SplitPattern pattern) {
  switch (pattern) {
    case SplitPattern::Gpt2:
      return "gpt2";
    case SplitPattern::Llama3:
      return "llama3";
    case SplitPattern::Qwen2:
      return "qwen2";
  }
  return "?";
}

std::string_view split_pattern_supported_gguf_names() {
  return "llama-bpe, llama3, llama-v3, smaug-bpe, qwen2, deepseek-r1-qwen, gpt-2, gpt2, phi-2";
}

void split_pattern_apply(SplitPattern pattern, std::string_view text, std::vector<std::string_view>& out) {
  if (text.empty()) return;
  const std::vector<CharInfo> chars = classify(text);
  const PatternMatcher matcher(chars, pattern);
  size_t i = 0;
  while (i < chars.size()) {
    const size_t end = matcher.match(i);
    const size_t begin_byte = chars[i].offset;
    const size_t end_byte = end < chars.size() ? chars[end].offset : text.size();
    out.push_back(text.substr(begin_byte, end_byte - begin_byte));
    i = end;
  }
}

}  // namespace officina
