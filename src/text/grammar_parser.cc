// Recursive-descent parser from GBNF text to Grammar::Parts. Every error
// carries the line and column where the problem is.
#include <algorithm>
#include <unordered_map>

#include "text/grammar.h"
#include "text/utf8.h"

namespace officina {

namespace {

using Sequence = std::vector<GrammarElement>;
using Alternatives = std::vector<Sequence>;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view where, const GrammarLimits& limits)
      : text_(text), where_(where), limits_(limits) {}

  Result<Grammar> run() {
    if (text_.size() > limits_.max_text_bytes)
      return fail("{}: grammar of {} bytes is larger than the limit of {} bytes", where_, text_.size(),
                  limits_.max_text_bytes);
    for (skip_space(); pos_ < text_.size(); skip_space()) OFFICINA_CHECK(parse_rule());
    for (const auto& [name, offset] : references_)
      if (!defined_[rule_id(name)]) return error_at(offset, "undefined rule '{}'", name);
    auto root = names_.find("root");
    if (root == names_.end() || !defined_[root->second])
      return fail("{}: the grammar has no rule named 'root' (matching starts there)", where_);
    parts_.root = root->second;
    return Grammar::from_parts(std::move(parts_), text_, where_);
  }

 private:
  template <class... Args>
  std::unexpected<Error> error_at(size_t offset, fmt::format_string<Args...> format, Args&&... args) const {
    return std::unexpected(Error{fmt::format("{}: {}", grammar_location(text_, where_, static_cast<int64_t>(offset)),
                                             fmt::format(format, std::forward<Args>(args)...))});
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  // Spaces, newlines and comments all separate tokens; where a rule ends is
  // decided by looking ahead for `name ::=`.
  void skip_space() {
    while (!at_end()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string_view read_name() {
    size_t start = pos_;
    while (!at_end() && is_name_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  bool name_starts_rule() const {
    size_t p = pos_;
    while (p < text_.size() && is_name_char(text_[p])) ++p;
    while (p < text_.size() && (text_[p] == ' ' || text_[p] == '\t')) ++p;
    return text_.substr(p).starts_with("::=");
  }

  uint32_t rule_id(std::string_view name) {
    auto [it, inserted] = names_.try_emplace(std::string(name), static_cast<uint32_t>(parts_.rules.size()));
    if (inserted) new_rule(std::string(name), -1);
    return it->second;
  }

  uint32_t new_rule(std::string name, int64_t offset) {
    parts_.rule_names.push_back(std::move(name));
    parts_.rules.emplace_back();
    parts_.rule_offsets.push_back(offset);
    defined_.push_back(false);
    return static_cast<uint32_t>(parts_.rules.size() - 1);
  }

  Result<uint32_t> generated_rule(Alternatives alts) {
    if (parts_.rules.size() >= limits_.max_rules)
      return error_at(pos_, "the grammar needs more than {} rules", limits_.max_rules);
    uint32_t id = new_rule(fmt::format("{}-{}", current_name_, ++generated_count_), current_offset_);
    OFFICINA_CHECK(count_elements(alts));
    parts_.rules[id] = std::move(alts);
    defined_[id] = true;
    return id;
  }

  Result<void> count_elements(const Alternatives& alts) {
    for (const auto& a : alts) element_count_ += a.size() + 1;
    if (element_count_ > limits_.max_elements)
      return error_at(pos_, "the grammar expands to more than {} elements (lower the repetition counts)",
                      limits_.max_elements);
    return {};
  }

  // Identical classes share one entry (keyed by their merged ranges).
  uint32_t class_id(CharClass c) {
    std::string key(1, c.negated() ? '^' : '=');
    for (CodeRange r : c.ranges()) key += fmt::format("{:x}-{:x},", static_cast<uint32_t>(r.first), static_cast<uint32_t>(r.last));
    auto [it, inserted] = class_ids_.try_emplace(std::move(key), static_cast<uint32_t>(parts_.classes.size()));
    if (inserted) parts_.classes.push_back(std::move(c));
    return it->second;
  }

  uint32_t single_char(char32_t cp) {
    auto [it, inserted] = single_classes_.try_emplace(cp, 0);
    if (inserted) it->second = class_id(CharClass({{cp, cp}}, false));
    return it->second;
  }

  Result<void> parse_rule() {
    size_t start = pos_;
    std::string_view name = read_name();
    if (name.empty()) return error_at(pos_, "expected a rule name, found '{}'", utf8_printable(text_.substr(pos_, 8)));
    while (peek() == ' ' || peek() == '\t') ++pos_;
    if (!text_.substr(pos_).starts_with("::="))
      return error_at(pos_, "expected '::=' after rule name '{}'", name);
    pos_ += 3;
    uint32_t id = rule_id(name);
    if (defined_[id])
      return error_at(start, "rule '{}' is defined twice (first at {})", name,
                      grammar_location(text_, where_, parts_.rule_offsets[id]));
    defined_[id] = true;
    parts_.rule_offsets[id] = static_cast<int64_t>(start);
    current_name_ = std::string(name);
    current_offset_ = static_cast<int64_t>(start);
    generated_count_ = 0;
    OFFICINA_TRY(Alternatives alts, parse_alternatives(0));
    OFFICINA_CHECK(count_elements(alts));
    parts_.rules[id] = std::move(alts);
    return {};
  }

  Result<Alternatives> parse_alternatives(int depth) {
    if (depth > limits_.max_nesting)
      return error_at(pos_, "groups nested deeper than {} levels", limits_.max_nesting);
    Alternatives alts;
    while (true) {
      OFFICINA_TRY(Sequence seq, parse_sequence(depth));
      alts.push_back(std::move(seq));
      skip_space();
      if (peek() != '|') break;
      ++pos_;
    }
    return alts;
  }

  Result<Sequence> parse_sequence(int depth) {
    Sequence seq;
    while (true) {
      skip_space();
      if (at_end()) break;
      const size_t item_start = pos_;
      const char c = peek();
      Sequence item;
      if (c == '"') {
        OFFICINA_TRY(item, parse_literal());
      } else if (c == '[') {
        OFFICINA_TRY(uint32_t cls, parse_class());
        item.push_back({GrammarOp::Chars, cls});
      } else if (c == '.') {
        ++pos_;
        item.push_back({GrammarOp::Chars, class_id(CharClass({}, true))});
      } else if (c == '(') {
        ++pos_;
        OFFICINA_TRY(Alternatives inner, parse_alternatives(depth + 1));
        skip_space();
        if (peek() != ')') return error_at(item_start, "unclosed '(' (expected ')')");
        ++pos_;
        OFFICINA_TRY(uint32_t rule, generated_rule(std::move(inner)));
        item.push_back({GrammarOp::Rule, rule});
      } else if (is_name_char(c)) {
        if (name_starts_rule()) break;  // the next rule begins
        std::string_view name = read_name();
        references_.emplace_back(std::string(name), item_start);
        item.push_back({GrammarOp::Rule, rule_id(name)});
      } else if (c == '|' || c == ')') {
        break;
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        return error_at(pos_, "'{}' has nothing to repeat", c);
      } else {
        return error_at(pos_, "unexpected character '{}'", utf8_printable(text_.substr(pos_, utf8_decode(text_, pos_).length)));
      }
      OFFICINA_TRY(item, parse_postfix(std::move(item)));
      seq.insert(seq.end(), item.begin(), item.end());
      if (seq.size() > limits_.max_elements)
        return error_at(item_start, "the grammar expands to more than {} elements", limits_.max_elements);
    }
    return seq;
  }

  Result<uint32_t> parse_number() {
    size_t start = pos_;
    uint64_t value = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      value = value * 10 + static_cast<uint64_t>(peek() - '0');
      if (value > limits_.max_repetition)
        return error_at(start, "repetition count above the limit of {}", limits_.max_repetition);
      ++pos_;
    }
    if (pos_ == start) return error_at(pos_, "expected a number in '{{...}}'");
    return static_cast<uint32_t>(value);
  }

  // x{m,n} = m copies of x, then n - m nested optionals (x (x (x)?)?)?; x{m,}
  // = m copies then x*. Each copy refers to one element, so the cost is
  // linear in n however big x is.
  Result<Sequence> parse_postfix(Sequence item) {
    while (true) {
      const size_t op_start = pos_;
      const char c = peek();
      uint32_t min = 0, max = 0;
      bool unbounded = false;
      if (c == '*') {
        unbounded = true, ++pos_;
      } else if (c == '+') {
        min = 1, unbounded = true, ++pos_;
      } else if (c == '?') {
        max = 1, ++pos_;
      } else if (c == '{') {
        ++pos_;
        while (peek() == ' ') ++pos_;
        OFFICINA_TRY(min, parse_number());
        while (peek() == ' ') ++pos_;
        max = min;
        if (peek() == ',') {
          ++pos_;
          while (peek() == ' ') ++pos_;
          if (peek() == '}') {
            unbounded = true;
          } else {
            OFFICINA_TRY(max, parse_number());
          }
          while (peek() == ' ') ++pos_;
        }
        if (peek() != '}') return error_at(op_start, "unclosed '{{' in a repetition (expected '}}')");
        ++pos_;
        if (!unbounded && max < min) return error_at(op_start, "repetition {{{},{}}} has max below min", min, max);
      } else {
        return item;
      }
      GrammarElement x = item.size() == 1 ? item[0] : GrammarElement{};
      if (item.size() != 1) {
        OFFICINA_TRY(uint32_t rule, generated_rule({item}));
        x = {GrammarOp::Rule, rule};
      }
      if (element_count_ + min + 3ull * (unbounded ? 1 : max - min) > limits_.max_elements)
        return error_at(op_start, "the grammar expands to more than {} elements (lower the repetition counts)",
                        limits_.max_elements);
      Sequence out(min, x);
      if (unbounded) {
        if (parts_.rules.size() >= limits_.max_rules)
          return error_at(op_start, "the grammar needs more than {} rules", limits_.max_rules);
        uint32_t star = new_rule(fmt::format("{}-{}", current_name_, ++generated_count_), current_offset_);
        parts_.rules[star] = {{x, {GrammarOp::Rule, star}}, {}};
        defined_[star] = true;
        element_count_ += 4;
        out.push_back({GrammarOp::Rule, star});
      } else if (max > min) {
        uint32_t tail = 0;
        for (uint32_t k = 1; k <= max - min; ++k) {
          Sequence more{x};
          if (k > 1) more.push_back({GrammarOp::Rule, tail});
          OFFICINA_TRY(tail, generated_rule({more, {}}));
        }
        out.push_back({GrammarOp::Rule, tail});
      }
      item = std::move(out);
    }
  }

  // One escape after a backslash; returns the code point.
  Result<char32_t> parse_escape() {
    const size_t start = pos_ - 1;
    if (at_end()) return error_at(start, "unterminated escape at the end of the grammar");
    char c = text_[pos_++];
    int digits = 0;
    switch (c) {
      case 'n': return U'\n';
      case 'r': return U'\r';
      case 't': return U'\t';
      case '0': return U'\0';
      case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/':
        return static_cast<char32_t>(c);
      case 'x': digits = 2; break;
      case 'u': digits = 4; break;
      case 'U': digits = 8; break;
      default:
        return error_at(start, "bad escape '\\{}' (use \\n \\r \\t \\\\ \\\" \\xHH \\uHHHH or \\UHHHHHHHH)",
                        utf8_printable(text_.substr(pos_ - 1, utf8_decode(text_, pos_ - 1).length)));
    }
    uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      char h = peek();
      int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (v < 0) return error_at(start, "bad escape: '\\{}' needs {} hex digits", c, digits);
      value = value * 16 + static_cast<uint32_t>(v);
      ++pos_;
    }
    if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
      return error_at(start, "bad escape: U+{:X} is not a Unicode scalar value", value);
    return static_cast<char32_t>(value);
  }

  // The next code point of a literal or class, escapes resolved.
  Result<char32_t> next_char() {
    if (text_[pos_] == '\\') {
      ++pos_;
      return parse_escape();
    }
    Utf8Char ch = utf8_decode(text_, pos_);
    if (!ch.valid) return error_at(pos_, "invalid UTF-8 in the grammar");
    pos_ += ch.length;
    return ch.code_point;
  }

  Result<Sequence> parse_literal() {
    const size_t start = pos_++;
    Sequence seq;
    while (true) {
      if (at_end() || peek() == '\n') return error_at(start, "unterminated string literal (missing '\"')");
      if (peek() == '"') break;
      OFFICINA_TRY(char32_t cp, next_char());
      seq.push_back({GrammarOp::Chars, single_char(cp)});
    }
    ++pos_;
    return seq;
  }

  Result<uint32_t> parse_class() {
    const size_t start = pos_++;
    bool negated = false;
    if (peek() == '^') negated = true, ++pos_;
    std::vector<CodeRange> ranges;
    while (true) {
      if (at_end() || peek() == '\n') return error_at(start, "unterminated character class (missing ']')");
      if (peek() == ']') break;
      const size_t item = pos_;
      OFFICINA_TRY(char32_t first, next_char());
      char32_t last = first;
      if (peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
        ++pos_;
        if (at_end() || peek() == '\n') return error_at(start, "unterminated character class (missing ']')");
        OFFICINA_TRY(last, next_char());
        if (last < first) return error_at(item, "character range is reversed (U+{:X} > U+{:X})",
                                          static_cast<uint32_t>(first), static_cast<uint32_t>(last));
      }
      ranges.push_back({first, last});
    }
    ++pos_;
    return class_id(CharClass(std::move(ranges), negated));
  }

  std::string_view text_;
  std::string_view where_;
  GrammarLimits limits_;
  size_t pos_ = 0;
  Grammar::Parts parts_;
  std::vector<bool> defined_;
  std::unordered_map<std::string, uint32_t> names_;
  std::unordered_map<char32_t, uint32_t> single_classes_;
  std::unordered_map<std::string, uint32_t> class_ids_;
  std::vector<std::pair<std::string, size_t>> references_;
  std::string current_name_;
  int64_t current_offset_ = 0;
  uint32_t generated_count_ = 0;
  size_t element_count_ = 0;
};

}  // namespace

Result<Grammar> Grammar::parse(std::string_view text, std::string_view where, const GrammarLimits& limits) {
  return Parser(text, where, limits).run();
}

}  // namespace officina
