// GrammarTokenFilter against brute force on real vocabularies: for grammar
// states reached by real prefixes, the trie walk must allow exactly the
// tokens whose bytes a fresh matcher accepts after the same prefix.
#include "text/grammar_token_filter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "text/json_schema_grammar.h"
#include "text/text_test_util.h"

namespace officina {
namespace {

// Every id the grammar allows after `prefix`, one fresh matcher per token.
std::vector<int32_t> brute_force(const Grammar& g, const Tokenizer& t, const std::string& prefix) {
  GrammarMatcher base(g);
  EXPECT_TRUE(base.accept(prefix)) << prefix;
  std::vector<int32_t> out;
  for (int32_t id = 0; id < t.vocab_size(); ++id) {
    if (t.is_end_of_generation(id)) {
      if (base.is_complete()) out.push_back(id);
      continue;
    }
    if (t.is_special(id)) continue;
    const std::string bytes = t.token_bytes(id);
    if (bytes.empty()) continue;
    GrammarMatcher m(g);
    if (m.accept(prefix + bytes)) out.push_back(id);
  }
  return out;
}

void compare(const Tokenizer& t, std::string_view grammar_text, const std::vector<std::string>& prefixes) {
  auto g = Grammar::parse(grammar_text, "g");
  ASSERT_TRUE(g) << g.error().message;
  GrammarTokenFilter filter(t);
  for (const std::string& prefix : prefixes) {
    GrammarMatcher m(*g);
    ASSERT_TRUE(m.accept(prefix)) << prefix;
    std::vector<int32_t> allowed;
    filter.allowed_tokens(m, allowed);
    std::sort(allowed.begin(), allowed.end());
    std::vector<int32_t> expected = brute_force(*g, t, prefix);
    EXPECT_EQ(allowed, expected) << "after '" << prefix << "': " << allowed.size() << " vs " << expected.size();
    for (int32_t id : {expected.empty() ? 0 : expected.front(), 29871, 2})
      EXPECT_EQ(filter.allows(m, id), std::binary_search(expected.begin(), expected.end(), id)) << id;
    // The mask leaves exactly the allowed logits finite.
    std::vector<float> logits(t.vocab_size(), 1.0f), scratch;
    std::vector<int32_t> ids;
    filter.mask_logits(m, logits, ids);
    size_t finite = std::count_if(logits.begin(), logits.end(), [](float x) { return std::isfinite(x); });
    EXPECT_EQ(finite, expected.size());
  }
}

const std::string kPerson =
    R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 6}, "age": {"type": "integer"},
        "city": {"enum": ["Roma", "Torino", "Città di Castello"]}}, "required": ["name"]})";

TEST(GrammarTokenFilter, MatchesBruteForceOnTheLlamaVocabulary) {
  std::string why;
  const Tokenizer* t = test::llama_spm_from_gguf(&why);
  ASSERT_TRUE(t) << why;
  auto person = json_schema_to_gbnf(kPerson, "person");
  ASSERT_TRUE(person) << person.error().message;
  compare(*t, *person, {"", "{", R"({"name": "Ad)", R"({"name":"ab\)", R"({"name":"abcdef)",
                        R"({"name":"x","age":12)", R"({"name":"x", "city":"Citt)", "{\"name\":\"x\", \"city\":\"Citt\xC3",
                        R"({"name":"x"})"});
  compare(*t, R"(root ::= [0-9]+ | "è"+ | [😀-🙏] "!")", {"", "1", "\xC3\xA8", "\xF0\x9F", "\xF0\x9F\x98\x81"});
}

TEST(GrammarTokenFilter, MatchesBruteForceOnTheLlama3Vocabulary) {
  std::string why;
  const Tokenizer* t = test::llama3_from_json(&why);
  if (!t) GTEST_SKIP() << why;
  auto person = json_schema_to_gbnf(kPerson, "person");
  ASSERT_TRUE(person) << person.error().message;
  compare(*t, *person, {"", R"({"name": "Ad)", R"({"name":"x", "city":"Citt)", R"({"name":"x"})"});
}

TEST(GrammarTokenFilter, EndOfGenerationOnlyWhenComplete) {
  std::string why;
  const Tokenizer* t = test::llama_spm_from_gguf(&why);
  ASSERT_TRUE(t) << why;
  auto g = Grammar::parse(R"(root ::= "ok" "!"?)", "g");
  ASSERT_TRUE(g);
  GrammarTokenFilter filter(*t);
  GrammarMatcher m(*g);
  const int32_t eos = t->eos_id();
  EXPECT_FALSE(filter.allows(m, eos));
  EXPECT_FALSE(filter.allows(m, t->bos_id()));  // control tokens never
  ASSERT_TRUE(m.accept("ok"));
  EXPECT_TRUE(filter.allows(m, eos));
  std::vector<int32_t> allowed;
  filter.allowed_tokens(m, allowed);
  EXPECT_NE(std::find(allowed.begin(), allowed.end(), eos), allowed.end());
  EXPECT_TRUE(filter.accept(m, eos));  // adds no text
  EXPECT_TRUE(m.is_complete());
}

}  // namespace
}  // namespace officina
