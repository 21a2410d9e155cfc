// GBNF grammars (the llama.cpp grammar syntax) compiled into a flat form that
// GrammarMatcher walks with a set of pushdown stacks. The grammar works on
// Unicode code points; GrammarMatcher feeds it UTF-8 bytes.
//
// Syntax (docs/grammars.md has examples):
//   name ::= alternatives          one rule; `root` is where matching starts
//   a b | c                        sequence, alternation
//   "text"                         literal (escapes \n \r \t \" \\ \xHH \uHHHH \UHHHHHHHH)
//   [a-z_] [^"\\]  .               character class, negated class, any character
//   ( ... )                        grouping
//   x* x+ x? x{m} x{m,} x{m,n}     repetition
//   # ...                          comment to the end of the line
// A rule may span lines: it ends where the next `name ::=` starts.
//
// Compiled form: every rule is a list of alternatives; an alternative is a
// run of elements in one flat array ended by an End element. Groups and
// repetitions become generated rules named after the rule they appear in
// ("value-3"), so error messages still point at the user's rule. Repetitions
// are right-recursive (`x*` is `r ::= x r | ""`), which keeps the matcher's
// stacks flat however long the repetition runs.
//
// Failure: Grammar::parse returns an Error "WHERE:LINE:COLUMN: problem" for
// syntax errors, undefined or duplicate rules, a missing root, left
// recursion (a rule that can reach itself before consuming input, which a
// pushdown matcher cannot run) and anything beyond GrammarLimits.
// Thread-safety: a Grammar is immutable after parse(); share it freely.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace officina {

// Bounds that keep a hostile grammar from exhausting memory or time.
struct GrammarLimits {
  size_t max_text_bytes = 1u << 20;
  size_t max_elements = 1u << 21;  // after expanding repetitions
  size_t max_rules = 1u << 17;
  int max_nesting = 64;            // parentheses inside one rule
  uint32_t max_repetition = 10000; // the largest m or n in x{m,n}
};

enum class GrammarOp : uint8_t {
  End,    // ends an alternative
  Chars,  // one code point from char_class(arg)
  Rule,   // a reference to rule arg
};

struct GrammarElement {
  GrammarOp op = GrammarOp::End;
  uint32_t arg = 0;
};

struct CodeRange {
  char32_t first = 0;
  char32_t last = 0;  // inclusive
};

// A set of code points: sorted, merged ranges, optionally negated, with the
// ASCII answers precomputed because most grammar text is ASCII.
class CharClass {
 public:
  CharClass() = default;
  CharClass(std::vector<CodeRange> ranges, bool negated);

  bool matches(char32_t cp) const {
    if (cp < 128) return (ascii_[cp >> 6] >> (cp & 63)) & 1;
    return contains(cp) != negated_;
  }
  // Whether some code point in [first, last] matches (used while a UTF-8
  // sequence is only partly read, to prune dead token prefixes early).
  bool intersects(char32_t first, char32_t last) const;

  const std::vector<CodeRange>& ranges() const { return ranges_; }
  bool negated() const { return negated_; }
  bool operator==(const CharClass& other) const;

 private:
  bool contains(char32_t cp) const;
  std::vector<CodeRange> ranges_;
  bool negated_ = false;
  std::array<uint64_t, 2> ascii_{};
};

class Grammar {
 public:
  // Parses GBNF text; `where` names the source in errors ("schema.gbnf").
  static Result<Grammar> parse(std::string_view text, std::string_view where = "grammar",
                               const GrammarLimits& limits = {});

  uint32_t root() const { return root_; }
  size_t rule_count() const { return rule_names_.size(); }
  const std::string& rule_name(uint32_t rule) const { return rule_names_[rule]; }
  // Start positions (into elements()) of the rule's alternatives.
  std::span<const uint32_t> alternatives(uint32_t rule) const {
    return {alt_starts_.data() + rule_alts_[rule], alt_starts_.data() + rule_alts_[rule + 1]};
  }
  std::span<const GrammarElement> elements() const { return elements_; }
  const GrammarElement& element(uint32_t pos) const { return elements_[pos]; }
  const CharClass& char_class(uint32_t index) const { return classes_[index]; }
  size_t char_class_count() const { return classes_.size(); }

  // Builder used by the parser; not for general use.
  struct Parts {
    std::vector<std::string> rule_names;
    std::vector<std::vector<std::vector<GrammarElement>>> rules;  // rule -> alternative -> elements
    std::vector<int64_t> rule_offsets;                             // definition offset in the text
    std::vector<CharClass> classes;
    uint32_t root = 0;
  };
  static Result<Grammar> from_parts(Parts parts, std::string_view text, std::string_view where);

 private:
  std::vector<std::string> rule_names_;
  std::vector<uint32_t> rule_alts_;   // rule -> first index into alt_starts_ (size rules + 1)
  std::vector<uint32_t> alt_starts_;
  std::vector<GrammarElement> elements_;
  std::vector<CharClass> classes_;
  uint32_t root_ = 0;
};

// "WHERE:LINE:COLUMN" for a byte offset into text (column in characters).
std::string grammar_location(std::string_view text, std::string_view where, int64_t offset);

}  // namespace officina
