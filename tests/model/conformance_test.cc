// Logits of every conformance model against the two references
// (../shared/conformance/README.md): llama.cpp (F16 KV cache) and a float64
// PyTorch implementation, with the tolerances the README suggests.
#include <cmath>
#include <memory>

#include "base/json_util.h"
#include "generate/generator.h"
#include "model/transformer.h"
#include "test_util.h"

namespace officina {
namespace {

using test::conformance_path;

double relative_l2(const float* got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / den);
}

int32_t argmax_row(const float* row, int64_t n) {
  return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

struct Runner {
  std::unique_ptr<Model> model;
  ThreadPool pool{2};

  explicit Runner(const std::string& path) {
    auto m = Model::load(path);
    EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message);
    if (m) model = std::move(*m);
  }
  // Logits at every position of `tokens`.
  std::vector<float> logits(const std::vector<int32_t>& tokens) {
    Transformer t(*model, pool);
    auto cache = KvCache::create(model->config(), 1, static_cast<int64_t>(tokens.size()) + 1, default_kv_precision(*model));
    EXPECT_TRUE(cache.has_value());
    std::vector<BatchRow> rows;
    for (size_t i = 0; i < tokens.size(); ++i) rows.push_back({tokens[i], 0, static_cast<int32_t>(i), -1, true});
    std::vector<float> out;
    auto ok = t.forward(rows, *cache, out);
    EXPECT_TRUE(ok.has_value()) << (ok ? "" : ok.error().message);
    return out;
  }
  std::vector<int32_t> greedy(const std::vector<int32_t>& tokens, int n) {
    Transformer t(*model, pool);
    auto cache = KvCache::create(model->config(), 1, static_cast<int64_t>(tokens.size()) + n + 1, default_kv_precision(*model));
    GenerateOptions options;
    options.max_tokens = n;
    options.sampling.temperature = 0;
    options.stop_at_end_of_generation = false;
    auto result = generate(t, *cache, 0, tokens, options);
    EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
    return result ? result->tokens : std::vector<int32_t>{};
  }
};

Json load(const std::string& relative) {
  auto j = read_json_file(conformance_path(relative));
  EXPECT_TRUE(j.has_value()) << (j ? "" : j.error().message);
  return j ? *j : Json::array();
}

// Against the float64 reference: last logits within 1e-4 relative L2, argmax
// equal at every position, greedy16 identical.
void check_f64(const std::string& model_path, const std::string& reference) {
  Runner runner(conformance_path(model_path));
  ASSERT_TRUE(runner.model);
  Json records = load(reference);
  ASSERT_FALSE(records.empty());
  const int64_t vocab = runner.model->config().vocab_size;
  for (const Json& r : records) {
    auto tokens = r["tokens"].get<std::vector<int32_t>>();
    SCOPED_TRACE(r.value("prompt", std::string("?")));
    std::vector<float> logits = runner.logits(tokens);
    ASSERT_EQ(logits.size(), tokens.size() * vocab);
    auto want = r["last_logits"].get<std::vector<double>>();
    ASSERT_EQ(static_cast<int64_t>(want.size()), vocab);
    EXPECT_LT(relative_l2(&logits[(tokens.size() - 1) * vocab], want), 1e-4);
    auto argmax = r["argmax"].get<std::vector<int32_t>>();
    for (size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(argmax_row(&logits[i * vocab], vocab), argmax[i]) << "position " << i;
    if (r.contains("greedy16")) EXPECT_EQ(runner.greedy(tokens, 16), r["greedy16"].get<std::vector<int32_t>>());
  }
}

// Against llama.cpp: last logits within `tolerance` relative L2, argmax equal
// to its top-1 at >= 95 % of positions.
void check_reference(const std::string& model_path, const std::string& reference, double tolerance) {
  Runner runner(conformance_path(model_path));
  ASSERT_TRUE(runner.model);
  Json records = load(reference);
  ASSERT_FALSE(records.empty());
  const int64_t vocab = runner.model->config().vocab_size;
  int positions = 0, agree = 0;
  for (const Json& r : records) {
    auto tokens = r["tokens"].get<std::vector<int32_t>>();
    SCOPED_TRACE(r.value("prompt", std::string("?")));
    std::vector<float> logits = runner.logits(tokens);
    ASSERT_EQ(logits.size(), tokens.size() * vocab);
    EXPECT_LT(relative_l2(&logits[(tokens.size() - 1) * vocab], r["last_logits"].get<std::vector<double>>()), tolerance);
    const Json& top = r["top10"];
    for (size_t i = 0; i < tokens.size(); ++i, ++positions)
      agree += argmax_row(&logits[i * vocab], vocab) == top[i][0][0].get<int32_t>();
  }
  EXPECT_GE(agree, 0.95 * positions) << agree << " of " << positions << " positions agree";
}

TEST(Conformance, TinyMhaAgainstFloat64) { check_f64("models/tiny-mha.gguf", "logits/tiny-mha.f64.json"); }
TEST(Conformance, TinyGqaAgainstFloat64) { check_f64("models/tiny-gqa.gguf", "logits/tiny-gqa.f64.json"); }
TEST(Conformance, TinyGqaHfAgainstFloat64) { check_f64("models/tiny-gqa-hf", "logits/tiny-gqa.f64.json"); }

TEST(Conformance, TinyMhaAgainstLlamaCpp) {
  check_reference("models/tiny-mha.gguf", "logits/tiny-mha.reference.json", 3e-3);
}
TEST(Conformance, TinyGqaAgainstLlamaCpp) {
  check_reference("models/tiny-gqa.gguf", "logits/tiny-gqa.reference.json", 3e-3);
}
TEST(Conformance, Small256Q8_0AgainstLlamaCpp) {
  check_reference("models/small-256-Q8_0.gguf", "logits/small-256-Q8_0.reference.json", 2e-2);
}
TEST(Conformance, Small256Q4_0AgainstLlamaCpp) {
  check_reference("models/small-256-Q4_0.gguf", "logits/small-256-Q4_0.reference.json", 2e-2);
}
TEST(Conformance, Small256Q4_K_MAgainstLlamaCpp) {
  check_reference("models/small-256-Q4_K_M.gguf", "logits/small-256-Q4_K_M.reference.json", 2e-2);
}

// The Hugging Face directory and the GGUF file are the same network.
TEST(Conformance, TinyGqaHfMatchesGguf) {
  Runner gguf(conformance_path("models/tiny-gqa.gguf"));
  Runner hf(conformance_path("models/tiny-gqa-hf"));
  ASSERT_TRUE(gguf.model && hf.model);
  std::vector<int32_t> tokens = gguf.model->tokenizer().encode("Il gatto dorme sul divano. The cat sleeps.", true);
  EXPECT_EQ(tokens, hf.model->tokenizer().encode("Il gatto dorme sul divano. The cat sleeps.", true));
  std::vector<float> a = gguf.logits(tokens), b = hf.logits(tokens);
  ASSERT_EQ(a.size(), b.size());
  std::vector<double> bd(b.begin(), b.end());
  EXPECT_LT(relative_l2(a.data(), bd), 1e-4);
}

}  // namespace
}  // namespace officina
