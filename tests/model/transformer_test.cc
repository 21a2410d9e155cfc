// The batched forward pass: batch shapes must not change the numbers.
#include <cmath>

#include "model/transformer.h"
#include "model_test_util.h"

namespace officina {
namespace {

using test::TempDir;

float max_abs_diff(const float* a, const float* b, int64_t n) {
  float d = 0;
  for (int64_t i = 0; i < n; ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

std::vector<int32_t> some_tokens(int n, int offset = 0) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(1 + (i * 7919 + offset * 104729) % 31999);
  return t;
}

class TransformerTest : public ::testing::Test {
 protected:
  TempDir dir;
  ThreadPool pool{2};
};

TEST_F(TransformerTest, PrefillEqualsTokenByTokenDecode) {
  auto model = test::make_model_file(dir.path("m.gguf"), test::small_config());
  ASSERT_TRUE(model);
  const int64_t vocab = model->config().vocab_size;
  auto tokens = some_tokens(9);
  Transformer t(*model, pool);
  auto cache = KvCache::create(model->config(), 1, 32);
  ASSERT_TRUE(cache);
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < tokens.size(); ++i) rows.push_back({tokens[i], 0, (int32_t)i, -1, true});
  std::vector<float> all;
  ASSERT_TRUE(t.forward(rows, *cache, all));

  auto cache2 = KvCache::create(model->config(), 1, 32);
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::vector<float> one;
    BatchRow r{tokens[i], 0, (int32_t)i, -1, true};
    ASSERT_TRUE(t.forward(std::span(&r, 1), *cache2, one));
    EXPECT_LT(max_abs_diff(one.data(), &all[i * vocab], vocab), 1e-4) << "position " << i;
  }
}

TEST_F(TransformerTest, SlotsInOneBatchAreIndependent) {
  auto model = test::make_model_file(dir.path("m.gguf"), test::small_config());
  ASSERT_TRUE(model);
  const int64_t vocab = model->config().vocab_size;
  auto a = some_tokens(5, 1), b = some_tokens(7, 2);
  Transformer t(*model, pool);
  auto run_alone = [&](const std::vector<int32_t>& tokens) {
    auto cache = KvCache::create(model->config(), 1, 16);
    std::vector<BatchRow> rows;
    for (size_t i = 0; i < tokens.size(); ++i) rows.push_back({tokens[i], 0, (int32_t)i, -1, i + 1 == tokens.size()});
    std::vector<float> out;
    EXPECT_TRUE(t.forward(rows, *cache, out));
    return out;
  };
  std::vector<float> alone_a = run_alone(a), alone_b = run_alone(b);
  // Interleave the two sequences in one batch, in slots 1 and 0.
  auto cache = KvCache::create(model->config(), 2, 16);
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < 7; ++i) {
    if (i < a.size()) rows.push_back({a[i], 1, (int32_t)i, -1, i + 1 == a.size()});
    rows.push_back({b[i], 0, (int32_t)i, -1, i + 1 == b.size()});
  }
  std::vector<float> both;
  ASSERT_TRUE(t.forward(rows, *cache, both));
  ASSERT_EQ(both.size(), 2u * vocab);
  EXPECT_LT(max_abs_diff(&both[0], alone_a.data(), vocab), 1e-4);
  EXPECT_LT(max_abs_diff(&both[vocab], alone_b.data(), vocab), 1e-4);
  EXPECT_EQ(cache->length(0), 7);
  EXPECT_EQ(cache->length(1), 5);
}

TEST_F(TransformerTest, CopiedPrefixContinuesLikeTheOriginal) {
  auto model = test::make_model_file(dir.path("m.gguf"), test::small_config());
  ASSERT_TRUE(model);
  auto tokens = some_tokens(6);
  Transformer t(*model, pool);
  auto cache = KvCache::create(model->config(), 2, 16);
  std::vector<BatchRow> rows;
  for (int i = 0; i < 5; ++i) rows.push_back({tokens[i], 0, i, -1, false});
  std::vector<float> out, a, b;
  ASSERT_TRUE(t.forward(rows, *cache, out));
  cache->copy_prefix(0, 1, 5);
  BatchRow ra{tokens[5], 0, 5, -1, true}, rb{tokens[5], 1, 5, -1, true};
  ASSERT_TRUE(t.forward(std::span(&ra, 1), *cache, a));
  ASSERT_TRUE(t.forward(std::span(&rb, 1), *cache, b));
  EXPECT_EQ(a, b);
}

// With one layer, RoPE makes attention depend only on relative positions, so
// a window of w over a long sequence equals the last w tokens alone.
TEST_F(TransformerTest, SlidingWindowSeesOnlyTheWindow) {
  ModelConfig c = test::small_config();
  c.n_layers = 1;
  auto full_model = test::make_model_file(dir.path("f.gguf"), c);
  c.sliding_window = 4;
  auto window_model = test::make_model_file(dir.path("w.gguf"), c);  // same seed, same weights
  ASSERT_TRUE(full_model && window_model);
  ASSERT_EQ(window_model->config().sliding_window, 4);
  const int64_t vocab = window_model->config().vocab_size;
  auto tokens = some_tokens(10);
  auto run = [&](const Model& m, std::span<const int32_t> seq) {
    Transformer t(m, pool);
    auto cache = KvCache::create(m.config(), 1, 16);
    std::vector<BatchRow> rows;
    for (size_t i = 0; i < seq.size(); ++i) rows.push_back({seq[i], 0, (int32_t)i, -1, i + 1 == seq.size()});
    std::vector<float> out;
    EXPECT_TRUE(t.forward(rows, *cache, out));
    return out;
  };
  std::vector<float> windowed = run(*window_model, tokens);
  std::vector<float> last4 = run(*full_model, std::span(tokens).subspan(6));
  std::vector<float> all = run(*full_model, tokens);
  EXPECT_LT(max_abs_diff(windowed.data(), last4.data(), vocab), 1e-3);
  EXPECT_GT(max_abs_diff(windowed.data(), all.data(), vocab), 1e-3);  // the window really cuts
}

TEST_F(TransformerTest, QuantizedCopyStaysClose) {
  ModelConfig c = test::small_config();
  auto f32 = test::make_model_file(dir.path("f32.gguf"), c, 3, DType::F32);
  auto q8 = test::make_model_file(dir.path("q8.gguf"), c, 3, DType::Q8_0);
  ASSERT_TRUE(f32 && q8);
  auto tokens = some_tokens(4);
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < tokens.size(); ++i) rows.push_back({tokens[i], 0, (int32_t)i, -1, i + 1 == tokens.size()});
  auto run = [&](const Model& m) {
    Transformer t(m, pool);
    auto cache = KvCache::create(m.config(), 1, 8);
    std::vector<float> out;
    EXPECT_TRUE(t.forward(rows, *cache, out));
    return out;
  };
  std::vector<float> a = run(*f32), b = run(*q8);
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += a[i] * a[i];
  EXPECT_LT(std::sqrt(num / den), 2e-2);
  EXPECT_GT(std::sqrt(num / den), 0.0);  // it really is quantized
}

TEST_F(TransformerTest, F16AttentionIsTheDefaultForQuantizedModelsAndStaysClose) {
  auto f32 = test::make_model_file(dir.path("f32.gguf"), test::small_config(), 3, DType::F32);
  auto q8 = test::make_model_file(dir.path("q8.gguf"), test::small_config(), 3, DType::Q8_0);
  ASSERT_TRUE(f32 && q8);
  EXPECT_EQ(default_kv_precision(*f32), KvPrecision::F32);
  EXPECT_EQ(default_kv_precision(*q8), KvPrecision::F16);
  auto tokens = some_tokens(6);
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < tokens.size(); ++i) rows.push_back({tokens[i], 0, (int32_t)i, -1, i + 1 == tokens.size()});
  Transformer t(*f32, pool);
  auto run = [&](KvPrecision p) {
    auto cache = KvCache::create(f32->config(), 1, 8, p);
    EXPECT_EQ(cache->precision(), p);
    std::vector<float> out;
    EXPECT_TRUE(t.forward(rows, *cache, out));
    return out;
  };
  std::vector<float> a = run(KvPrecision::F32), b = run(KvPrecision::F16);
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += a[i] * a[i];
  EXPECT_LT(std::sqrt(num / den), 5e-3);
  EXPECT_GT(std::sqrt(num / den), 0.0);  // the rounding really happens
}

TEST_F(TransformerTest, BadBatchesAreRefused) {
  auto model = test::make_model_file(dir.path("m.gguf"), test::small_config());
  ASSERT_TRUE(model);
  Transformer t(*model, pool);
  auto cache = KvCache::create(model->config(), 2, 4);
  std::vector<float> out;
  auto expect_error = [&](std::vector<BatchRow> rows, std::string_view text) {
    auto r = t.forward(rows, *cache, out);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
  };
  expect_error({{32000, 0, 0, -1, true}}, "outside the vocabulary");
  expect_error({{-1, 0, 0, -1, true}}, "outside the vocabulary");
  expect_error({{5, 2, 0, -1, true}}, "slot 2");
  expect_error({{5, 0, 1, -1, true}}, "does not follow");
  expect_error({{5, 0, 0, -1, true}, {6, 0, 2, -1, true}}, "does not follow");
  expect_error({{5, 0, 0, 0, true}}, "adapter");
  std::vector<BatchRow> fill;
  for (int i = 0; i < 4; ++i) fill.push_back({5, 0, i, -1, false});
  ASSERT_TRUE(t.forward(fill, *cache, out));
  expect_error({{5, 0, 4, -1, true}}, "context full");
}

}  // namespace
}  // namespace officina
