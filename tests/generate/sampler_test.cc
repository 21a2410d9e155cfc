#include "generate/sampler.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

namespace officina {
namespace {

std::vector<float> logits_of(std::vector<double> probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::map<int32_t, int> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
  std::map<int32_t, int> h;
  for (int i = 0; i < draws; ++i) ++h[s.sample(logits, {})];
  return h;
}

TEST(Sampler, GreedyPicksTheArgmax) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p);
  std::vector<float> l = {0.1f, 3.0f, -1.0f, 2.9f};
  EXPECT_EQ(s.sample(l, {}), 1);
  EXPECT_EQ(argmax(l), 1);
}

TEST(Sampler, SameSeedSameDraws) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0;
  p.seed = 42;
  std::vector<float> l = logits_of({0.2, 0.3, 0.1, 0.4});
  Sampler a(p), b(p);
  std::vector<int32_t> da, db;
  for (int i = 0; i < 50; ++i) da.push_back(a.sample(l, {})), db.push_back(b.sample(l, {}));
  EXPECT_EQ(da, db);
  p.seed = 43;
  Sampler c(p);
  std::vector<int32_t> dc;
  for (int i = 0; i < 50; ++i) dc.push_back(c.sample(l, {}));
  EXPECT_NE(da, dc);
}

TEST(Sampler, FrequenciesFollowTheDistribution) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0;
  p.seed = 7;
  Sampler s(p);
  auto h = histogram(s, logits_of({0.1, 0.2, 0.3, 0.4}), 20000);
  EXPECT_NEAR(h[0] / 20000.0, 0.1, 0.015);
  EXPECT_NEAR(h[3] / 20000.0, 0.4, 0.015);
}

TEST(Sampler, TopKTopPAndMinPCut) {
  std::vector<float> l = logits_of({0.05, 0.5, 0.3, 0.15});
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 1.0f;
  p.min_p = 0;
  p.top_k = 2;
  Sampler k(p);
  auto hk = histogram(k, l, 2000);
  EXPECT_EQ(hk.count(0) + hk.count(3), 0u);
  EXPECT_GT(hk[1], hk[2]);

  p.top_k = 0;
  p.top_p = 0.75f;  // 0.5 + 0.3 reaches it: tokens 1 and 2
  Sampler tp(p);
  auto hp = histogram(tp, l, 2000);
  EXPECT_EQ(hp.count(0) + hp.count(3), 0u);
  EXPECT_GT(hp[2], 0);

  p.top_p = 1.0f;
  p.min_p = 0.5f;  // keep p >= 0.25: only tokens 1 and 2
  Sampler mp(p);
  auto hm = histogram(mp, l, 2000);
  EXPECT_EQ(hm.count(0) + hm.count(3), 0u);
}

TEST(Sampler, LowTemperatureSharpens) {
  SamplingParams p;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0;
  p.temperature = 0.1f;
  Sampler s(p);
  auto h = histogram(s, logits_of({0.3, 0.7}), 2000);
  EXPECT_GT(h[1], 1990);
}

TEST(Sampler, PenaltiesPushRecentTokensDown) {
  SamplingParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  std::vector<float> l = {2.0f, 1.5f, 0.0f};
  std::vector<int32_t> history = {0};
  Sampler s(p);
  EXPECT_EQ(s.sample(l, history), 1);  // 2.0 / 2 = 1.0 < 1.5
  p.repeat_penalty = 1.0f;
  p.frequency_penalty = 0.3f;
  Sampler f(p);
  std::vector<int32_t> twice = {0, 0};
  EXPECT_EQ(f.sample(l, std::vector<int32_t>{0}), 0);  // 2.0 - 0.3 > 1.5
  EXPECT_EQ(f.sample(l, twice), 1);                    // 2.0 - 0.6 < 1.5
  p.frequency_penalty = 0;
  p.presence_penalty = 0.6f;
  Sampler pr(p);
  EXPECT_EQ(pr.sample(l, std::vector<int32_t>{0}), 1);
  p.repeat_last_n = 1;  // only the last token counts
  Sampler window(p);
  EXPECT_EQ(window.sample(l, std::vector<int32_t>{0, 2}), 0);
}

TEST(Sampler, NonsenseParametersAreRefused) {
  SamplingParams p;
  p.top_p = 0;
  EXPECT_FALSE(p.validate());
  p = {};
  p.min_p = 2;
  EXPECT_FALSE(p.validate());
  p = {};
  p.repeat_penalty = 0;
  EXPECT_FALSE(p.validate());
  p = {};
  p.temperature = NAN;
  EXPECT_FALSE(p.validate());
  EXPECT_TRUE(SamplingParams{}.validate());
}

}  // namespace
}  // namespace officina
