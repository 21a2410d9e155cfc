// generate() under a grammar: only grammar text comes out, it stops when the
// grammar is complete, the same seed gives the same text.
#include <gtest/gtest.h>

#include "generate/constrained_sampler.h"
#include "generate/generator.h"
#include "test_util.h"
#include "text/json_schema_grammar.h"

namespace officina {
namespace {

class ConstrainedGenerate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = Model::load(test::conformance_path("models/tiny-mha.gguf"));
    ASSERT_TRUE(m) << m.error().message;
    model_ = std::move(*m).release();
    filter_ = new GrammarTokenFilter(model_->tokenizer());
  }
  static void TearDownTestSuite() {
    delete filter_;
    delete model_;
  }

  Result<GenerateResult> run(const Grammar& grammar, uint64_t seed, int64_t max_tokens = 64, float temperature = 1.0f) {
    ThreadPool pool(2);
    Transformer t(*model_, pool);
    auto cache = KvCache::create(model_->config(), 1, 256);
    if (!cache) return std::unexpected(cache.error());
    GenerateOptions options;
    options.max_tokens = max_tokens;
    options.sampling.seed = seed;
    options.sampling.temperature = temperature;
    options.grammar = &grammar;
    options.token_filter = filter_;
    auto prompt = model_->tokenizer().encode("The answer is", true);
    return generate(t, *cache, 0, prompt, options);
  }

  static Model* model_;
  static GrammarTokenFilter* filter_;
};

Model* ConstrainedGenerate::model_ = nullptr;
GrammarTokenFilter* ConstrainedGenerate::filter_ = nullptr;

TEST_F(ConstrainedGenerate, StopsWhenNothingElseCanFollow) {
  auto g = Grammar::parse(R"(root ::= "Risposta: " ("sì" | "no" | "forse") ".")", "g");
  ASSERT_TRUE(g) << g.error().message;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    auto r = run(*g, seed);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->text == "Risposta: sì." || r->text == "Risposta: no." || r->text == "Risposta: forse.") << r->text;
    EXPECT_EQ(r->finish, FinishReason::Stop);
    EXPECT_TRUE(r->grammar_complete);
  }
}

TEST_F(ConstrainedGenerate, SameSeedSameText) {
  auto g = json_schema_grammar(R"({"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string", "maxLength": 8}}, "required": ["n", "s"]})");
  ASSERT_TRUE(g) << g.error().message;
  auto a = run(*g, 5), b = run(*g, 5), c = run(*g, 6);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->text, b->text);
  EXPECT_EQ(a->tokens, b->tokens);
  EXPECT_NE(a->tokens, c->tokens);
  EXPECT_TRUE(a->grammar_complete) << a->text;
  EXPECT_TRUE(nlohmann::json::accept(a->text)) << a->text;
}

TEST_F(ConstrainedGenerate, GreedyFollowsTheGrammarToo) {
  auto g = Grammar::parse(R"(root ::= [0-9]{3} "-" [0-9]{2})", "g");
  ASSERT_TRUE(g);
  auto r = run(*g, 0, 64, 0.0f);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->text.size(), 6u) << r->text;
  EXPECT_EQ(r->text[3], '-');
}

TEST_F(ConstrainedGenerate, LengthLimitLeavesAnIncompleteSentence) {
  auto g = Grammar::parse(R"(root ::= "[" [a-z ]* "]")", "g");
  ASSERT_TRUE(g);
  auto r = run(*g, 1, 4);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->tokens.size(), 4u);
  EXPECT_EQ(r->finish, FinishReason::Length);
  EXPECT_FALSE(r->grammar_complete);
  EXPECT_EQ(r->text[0], '[');
}

TEST_F(ConstrainedGenerate, ByteFallbackSpellsWhatNoTokenHas) {
  // No ordinary token holds a NUL; the byte-fallback token <0x00> does.
  auto g = Grammar::parse(R"(root ::= "a" [\x00])", "g");
  ASSERT_TRUE(g);
  auto r = run(*g, 2);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, std::string("a\0", 2));
}

TEST_F(ConstrainedGenerate, SamplerCountsFastAndMaskedSteps) {
  auto g = Grammar::parse(R"(root ::= .{20})", "g");  // nearly everything allowed
  ASSERT_TRUE(g);
  SamplingParams p;
  p.seed = 3;
  ConstrainedSampler s(*g, *filter_, p);
  std::vector<float> logits(model_->config().vocab_size, 0.0f);
  for (int i = 0; i < 5; ++i) logits[1000 + i] = 5.0f;
  for (int i = 0; i < 5; ++i) {
    auto token = s.sample(logits, {});
    ASSERT_TRUE(token);
    ASSERT_TRUE(s.accept(*token));
  }
  EXPECT_EQ(s.stats().fast, 5);
  EXPECT_EQ(s.stats().masked, 0);
}

}  // namespace
}  // namespace officina
