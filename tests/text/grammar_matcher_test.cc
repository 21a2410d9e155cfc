// GrammarMatcher: incremental acceptance, partial UTF-8 across calls,
// completion states, and ambiguity that must not blow up.
#include "text/grammar_matcher.h"

#include <gtest/gtest.h>

namespace officina {
namespace {

Grammar parse_ok(std::string_view text) {
  auto g = Grammar::parse(text, "test.gbnf");
  EXPECT_TRUE(g.has_value()) << (g ? "" : g.error().message);
  return std::move(*g);
}

TEST(GrammarMatcher, AcceptsPieceByPieceAndRejectsWithoutChange) {
  Grammar g = parse_ok(R"g(root ::= "{" [a-z]+ "}")g");
  GrammarMatcher m(g);
  EXPECT_FALSE(m.is_complete());
  EXPECT_TRUE(m.accept("{ab"));
  EXPECT_FALSE(m.accept("c}x"));  // the x is too much: nothing of it is taken
  EXPECT_FALSE(m.accept("C"));
  EXPECT_TRUE(m.accept("c"));
  EXPECT_TRUE(m.can_continue());
  EXPECT_TRUE(m.accept("}"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_TRUE(m.must_end());
  EXPECT_FALSE(m.accept("}"));
  m.reset();
  EXPECT_FALSE(m.is_complete());
  EXPECT_TRUE(m.accept("{z}"));
}

TEST(GrammarMatcher, CanAcceptDoesNotChangeState) {
  Grammar g = parse_ok(R"g(root ::= "ab" | "ac")g");
  GrammarMatcher m(g);
  EXPECT_TRUE(m.can_accept("ab"));
  EXPECT_TRUE(m.can_accept("a"));
  EXPECT_FALSE(m.can_accept("b"));
  EXPECT_FALSE(m.can_accept("abc"));
  EXPECT_TRUE(m.accept("a"));
  EXPECT_TRUE(m.can_accept("c"));
  EXPECT_FALSE(m.is_complete());
}

TEST(GrammarMatcher, CompleteButMayContinue) {
  Grammar g = parse_ok(R"g(root ::= [0-9]+)g");
  GrammarMatcher m(g);
  EXPECT_TRUE(m.accept("12"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_TRUE(m.can_continue());
  EXPECT_FALSE(m.must_end());
}

TEST(GrammarMatcher, PartialUtf8AcrossCalls) {
  Grammar g = parse_ok(R"g(root ::= "è" "€" [😀-😂])g");
  GrammarMatcher m(g);
  EXPECT_TRUE(m.accept("\xC3"));
  EXPECT_FALSE(m.is_complete());
  EXPECT_TRUE(m.can_continue());
  EXPECT_FALSE(m.can_accept("\xA9"));  // é, not è
  EXPECT_TRUE(m.accept("\xA8\xE2"));
  EXPECT_TRUE(m.accept("\x82"));
  EXPECT_TRUE(m.accept("\xAC\xF0\x9F"));
  EXPECT_TRUE(m.accept("\x98"));
  EXPECT_FALSE(m.can_accept("\x83"));  // U+1F603 is outside the class
  EXPECT_TRUE(m.accept("\x81"));
  EXPECT_TRUE(m.is_complete());
}

TEST(GrammarMatcher, PartialSequenceThatCannotMatchIsRejectedEarly) {
  Grammar g = parse_ok(R"g(root ::= [a-z] | "é")g");
  GrammarMatcher m(g);
  EXPECT_TRUE(m.can_accept("\xC3"));   // may become é
  EXPECT_FALSE(m.can_accept("\xE2"));  // three-byte sequences are all above U+07FF
  EXPECT_FALSE(m.can_accept("\xF0\x9F"));
}

TEST(GrammarMatcher, InvalidUtf8IsRejected) {
  Grammar g = parse_ok(R"g(root ::= .*)g");
  GrammarMatcher m(g);
  EXPECT_FALSE(m.can_accept("\x80"));          // lone continuation
  EXPECT_FALSE(m.can_accept("\xC0\xAF"));      // overlong
  EXPECT_FALSE(m.can_accept("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(m.can_accept("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(m.can_accept("\xC3" "a"));
  EXPECT_TRUE(m.accept("any text \xE2\x9C\x93"));
  EXPECT_TRUE(m.is_complete());
}

TEST(GrammarMatcher, AmbiguityStaysSmall) {
  // Every character can be either alternative: without de-duplication the
  // number of stacks would double per character.
  Grammar g = parse_ok(R"g(root ::= ("a" | "a" | [a-z])* "!")g");
  GrammarMatcher m(g);
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(m.accept("a"));
  EXPECT_LE(m.stack_count(), 4u);
  EXPECT_TRUE(m.accept("!"));
  EXPECT_TRUE(m.is_complete());
}

TEST(GrammarMatcher, TooManyStacksIsAnError) {
  // Each [a-z]{0,300} branch is a distinct stack for every count so far.
  Grammar g = parse_ok(R"(root ::= x x x
x ::= "a"{0,300})");
  GrammarMatcherLimits limits;
  limits.max_stacks = 64;
  GrammarMatcher m(g, limits);
  bool ok = true;
  for (int i = 0; i < 400 && ok; ++i) ok = m.accept("a");
  EXPECT_FALSE(ok);
  ASSERT_TRUE(m.error().has_value());
  EXPECT_NE(m.error()->message.find("too ambiguous"), std::string::npos);
}

TEST(GrammarMatcher, LongInputKeepsWorking) {
  Grammar g = parse_ok(R"g(root ::= ("[" [a-z]* "]")*)g");
  GrammarMatcher m(g);
  for (int i = 0; i < 200000; ++i) ASSERT_TRUE(m.accept(i % 10 == 0 ? "[" : i % 10 == 9 ? "]" : "q"));
  EXPECT_TRUE(m.is_complete());
}

TEST(GrammarMatcher, CompactionKeepsTheLiveStacks) {
  // Nesting makes a new node per "(": the pool passes the threshold many
  // times and is rebuilt while 3000 levels are open.
  Grammar g = parse_ok(R"g(root ::= "(" root ")" | "x")g");
  GrammarMatcherLimits limits;
  limits.compact_at_nodes = 100;
  GrammarMatcher m(g, limits);
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(m.accept("("));
  EXPECT_FALSE(m.can_accept(")"));
  ASSERT_TRUE(m.accept("x"));
  for (int i = 0; i < 3000; ++i) {
    ASSERT_FALSE(m.is_complete());
    ASSERT_TRUE(m.accept(")")) << i;
  }
  EXPECT_TRUE(m.must_end());
}

}  // namespace
}  // namespace officina
