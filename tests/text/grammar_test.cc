// GBNF parsing: every syntax feature matches what it should, and bad
// grammars give errors with line and column.
#include "text/grammar.h"

#include <gtest/gtest.h>

#include "text/grammar_matcher.h"

namespace officina {
namespace {

Grammar parse_ok(std::string_view text) {
  auto g = Grammar::parse(text, "test.gbnf");
  EXPECT_TRUE(g.has_value()) << (g ? "" : g.error().message);
  return g ? std::move(*g) : Grammar{};
}

// Whether the whole text is a sentence of the grammar.
bool matches(const Grammar& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.accept(text) && m.is_complete();
}

std::string parse_error(std::string_view text) {
  auto g = Grammar::parse(text, "test.gbnf");
  EXPECT_FALSE(g.has_value()) << "parsed: " << text;
  return g ? "" : g.error().message;
}

TEST(Grammar, LiteralsAndSequences) {
  Grammar g = parse_ok(R"g(root ::= "ab" "c")g");
  EXPECT_TRUE(matches(g, "abc"));
  EXPECT_FALSE(matches(g, "ab"));
  EXPECT_FALSE(matches(g, "abcd"));
}

TEST(Grammar, Alternatives) {
  Grammar g = parse_ok(R"g(root ::= "yes" | "no" | "")g");
  EXPECT_TRUE(matches(g, "yes"));
  EXPECT_TRUE(matches(g, "no"));
  EXPECT_TRUE(matches(g, ""));
  EXPECT_FALSE(matches(g, "maybe"));
}

TEST(Grammar, Escapes) {
  Grammar g = parse_ok(R"g(root ::= "\n\t\r\"\\\x41\u00e8\U0001F600")g");
  EXPECT_TRUE(matches(g, "\n\t\r\"\\A\xC3\xA8\xF0\x9F\x98\x80"));
}

TEST(Grammar, CharacterClasses) {
  Grammar g = parse_ok(R"g(root ::= [a-c0-9_] [^a-z] [-x] [\]] .)g");
  EXPECT_TRUE(matches(g, "bQ-]\xE2\x82\xAC"));
  EXPECT_TRUE(matches(g, "_Zx]z"));
  EXPECT_FALSE(matches(g, "dQ-]z"));
  EXPECT_FALSE(matches(g, "bq-]z"));
  EXPECT_FALSE(matches(g, "bQy]z"));
}

TEST(Grammar, NonAsciiClass) {
  Grammar g = parse_ok("root ::= [à-ù]+");
  EXPECT_TRUE(matches(g, "\xC3\xA0\xC3\xA8"));
  EXPECT_FALSE(matches(g, "a"));
}

TEST(Grammar, Repetition) {
  Grammar g = parse_ok(R"g(root ::= "a"* "b"+ "c"? "d"{2} "e"{1,} "f"{0,2})g");
  EXPECT_TRUE(matches(g, "bddee"));
  EXPECT_TRUE(matches(g, "aaabbcddeff"));
  EXPECT_FALSE(matches(g, "ddee"));        // b+ needs one
  EXPECT_FALSE(matches(g, "bdee"));        // d{2}
  EXPECT_FALSE(matches(g, "bddeefff"));    // f{0,2}
  EXPECT_FALSE(matches(g, "bddcee"));
}

TEST(Grammar, BoundedRepetitionOfGroups) {
  Grammar g = parse_ok(R"g(root ::= ("ab" | "c"){2,3})g");
  EXPECT_TRUE(matches(g, "abc"));
  EXPECT_TRUE(matches(g, "ccab"));
  EXPECT_FALSE(matches(g, "c"));
  EXPECT_FALSE(matches(g, "cccc"));
}

TEST(Grammar, RulesCommentsAndMultiLine) {
  Grammar g = parse_ok(R"(# a list of numbers
root ::= "[" ws
         ( num ( "," ws num )* )?   # optional items
         "]"
num ::= [0-9]+
ws  ::= " "?
)");
  EXPECT_TRUE(matches(g, "[]"));
  EXPECT_TRUE(matches(g, "[ 1, 22,3]"));
  EXPECT_FALSE(matches(g, "[1,]"));
}

TEST(Grammar, RecursionThatConsumesFirst) {
  Grammar g = parse_ok(R"g(root ::= "(" root ")" | "x")g");
  EXPECT_TRUE(matches(g, "((x))"));
  EXPECT_FALSE(matches(g, "((x)"));
}

TEST(Grammar, NullableRepetitionIsFine) {
  Grammar g = parse_ok(R"g(root ::= ("a"?)* "b")g");
  EXPECT_TRUE(matches(g, "aab"));
  EXPECT_TRUE(matches(g, "b"));
}

TEST(Grammar, ErrorsHaveLineAndColumn) {
  EXPECT_EQ(parse_error("root ::= foo"), "test.gbnf:1:10: undefined rule 'foo'");
  EXPECT_EQ(parse_error("root ::= \"a\"\nx ::= \"abc"), "test.gbnf:2:7: unterminated string literal (missing '\"')");
  EXPECT_NE(parse_error("root ::= \"\\q\"").find("test.gbnf:1:11: bad escape '\\q'"), std::string::npos);
  EXPECT_EQ(parse_error("a ::= \"x\""), "test.gbnf: the grammar has no rule named 'root' (matching starts there)");
  EXPECT_EQ(parse_error("root ::= [a-z"), "test.gbnf:1:10: unterminated character class (missing ']')");
  EXPECT_EQ(parse_error("root ::= (\"a\""), "test.gbnf:1:10: unclosed '(' (expected ')')");
  EXPECT_EQ(parse_error("root ::= \"a\"\nroot ::= \"b\""), "test.gbnf:2:1: rule 'root' is defined twice (first at test.gbnf:1:1)");
  EXPECT_EQ(parse_error("root ::= * \"a\""), "test.gbnf:1:10: '*' has nothing to repeat");
  EXPECT_EQ(parse_error("root ::= \"a\" ;"), "test.gbnf:1:14: unexpected character ';'");
  EXPECT_EQ(parse_error("root \"a\""), "test.gbnf:1:6: expected '::=' after rule name 'root'");
  EXPECT_NE(parse_error("root ::= \"\\uD800\"").find("not a Unicode scalar value"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"{3,2}").find("max below min"), std::string::npos);
  EXPECT_NE(parse_error("root ::= [z-a]").find("reversed"), std::string::npos);
}

TEST(Grammar, LeftRecursionIsRefused) {
  std::string direct = parse_error("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]");
  EXPECT_NE(direct.find("test.gbnf:2:1: left recursion: rule 'expr'"), std::string::npos) << direct;
  std::string indirect = parse_error("root ::= a \"x\"\na ::= b \"y\" | \"z\"\nb ::= \"q\"? a");
  EXPECT_NE(indirect.find("left recursion"), std::string::npos) << indirect;
  std::string via_group = parse_error("root ::= (\"a\"? root) \"b\" | \"c\"");
  EXPECT_NE(via_group.find("left recursion"), std::string::npos) << via_group;
}

TEST(Grammar, RootThatCanNeverMatchIsRefused) {
  EXPECT_EQ(parse_error("root ::= a | \"x\" a\na ::= \"y\" a"),
            "test.gbnf:1:1: rule 'root' can never match: every alternative needs a rule that only refers to itself");
}

TEST(Grammar, HostileGrammarsGetErrors) {
  EXPECT_NE(parse_error("root ::= \"a\"{100000}").find("limit of 10000"), std::string::npos);
  std::string deep = "root ::= " + std::string(200, '(') + "\"a\"" + std::string(200, ')');
  EXPECT_NE(parse_error(deep).find("nested deeper than 64"), std::string::npos);
  // Nested repetitions multiply the cost only through rule references: 10000
  // copies of a rule that itself holds 10000 copies is 20000 elements.
  EXPECT_TRUE(Grammar::parse("root ::= (\"a\"{10000}){10000}", "t").has_value());
  GrammarLimits small;
  small.max_elements = 1000;
  auto big = Grammar::parse("root ::= \"a\"{600} \"b\"{600}", "t", small);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("more than 1000 elements"), std::string::npos);
  small.max_text_bytes = 10;
  EXPECT_FALSE(Grammar::parse("root ::= \"aaaaaaaaaa\"", "t", small));
  EXPECT_NE(parse_error("root ::= \"\xC3\x28\"").find("invalid UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace officina
