// SequenceDecoder's own duties: stop strings cut from the output (also when
// split across tokens), log-probabilities of the chosen and best tokens.
#include "generate/sequence_decoder.h"

#include <gtest/gtest.h>

#include <cmath>

#include "generate/generator.h"
#include "model/model_test_util.h"

namespace officina {
namespace {

struct Fixture {
  test::TempDir dir;
  std::unique_ptr<Model> model;
  ThreadPool pool{1};
  Fixture() { model = test::make_model_file(dir.path() + "/m.gguf", test::small_config(), 3, DType::Q8_0); }
  GenerateResult run(GenerateOptions options, const std::string& prompt = "The line stopped because") {
    Transformer t(*model, pool);
    auto cache = KvCache::create(model->config(), 1, 128, default_kv_precision(*model));
    options.sampling.temperature = 0;
    options.stop_at_end_of_generation = false;
    auto r = generate(t, *cache, 0, model->tokenizer().encode(prompt, true, false), options);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : GenerateResult{};
  }
};

TEST(SequenceDecoder, StopStringsCutTheOutputWhereverTheyStart) {
  Fixture f;
  ASSERT_TRUE(f.model);
  GenerateOptions options;
  options.max_tokens = 24;
  GenerateResult full = f.run(options);
  ASSERT_GT(full.text.size(), 12u);
  // Stop at a piece from the middle of the greedy text: it may span tokens.
  for (size_t at : {size_t{3}, full.text.size() / 2, full.text.size() - 4}) {
    const std::string stop = full.text.substr(at, 3);
    const size_t first = full.text.find(stop);
    GenerateOptions with_stop = options;
    with_stop.stop = {"never appears \x01", stop};
    std::string streamed;
    Transformer t(*f.model, f.pool);
    auto cache = KvCache::create(f.model->config(), 1, 128, default_kv_precision(*f.model));
    with_stop.sampling.temperature = 0;
    with_stop.stop_at_end_of_generation = false;
    auto r = generate(t, *cache, 0, f.model->tokenizer().encode("The line stopped because", true, false), with_stop,
                      [&](std::string_view piece) {
                        streamed += piece;
                        return true;
                      });
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->text, full.text.substr(0, first)) << "stop " << stop;
    EXPECT_EQ(streamed, r->text) << "the stop text never reaches the stream";
    EXPECT_EQ(r->finish, FinishReason::Stop);
    EXPECT_LE(r->tokens.size(), full.tokens.size());
  }
  // A stop string that never matches changes nothing.
  GenerateOptions unmatched = options;
  unmatched.stop = {"\x02\x03"};
  EXPECT_EQ(f.run(unmatched).text, full.text);
}

TEST(SequenceDecoder, LogprobsAreTheLogSoftmaxOfTheChosenAndBestTokens) {
  Fixture f;
  ASSERT_TRUE(f.model);
  GenerateOptions options;
  options.max_tokens = 6;
  options.top_logprobs = 5;
  GenerateResult r = f.run(options);
  ASSERT_EQ(r.logprobs.size(), r.tokens.size());
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    const auto& [chosen, top] = r.logprobs[i];
    EXPECT_EQ(chosen.token, r.tokens[i]);
    ASSERT_EQ(top.size(), 5u);
    EXPECT_EQ(top[0].token, r.tokens[i]) << "greedy picks the best token";
    EXPECT_FLOAT_EQ(top[0].logprob, chosen.logprob);
    double mass = 0;
    for (size_t k = 0; k < top.size(); ++k) {
      EXPECT_LE(top[k].logprob, 0.0f);
      if (k > 0) EXPECT_LE(top[k].logprob, top[k - 1].logprob);
      mass += std::exp(top[k].logprob);
    }
    EXPECT_LE(mass, 1.0 + 1e-5);
  }
  // Direct check against a logits row.
  std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  const float lse = log_sum_exp(logits);
  EXPECT_NEAR(lse, std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0)), 1e-5);
  auto best = top_logprobs(logits, 2, lse);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].token, 1);
  EXPECT_EQ(best[1].token, 2);
  EXPECT_NEAR(token_logprob(logits, 0, lse).logprob, 1.0 - lse, 1e-6);
  GenerateOptions none;
  none.max_tokens = 3;
  EXPECT_TRUE(f.run(none).logprobs.empty());
}

}  // namespace
}  // namespace officina
