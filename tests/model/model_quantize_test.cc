// Quantizing whole models: the types each scheme picks, logits close to the
// unquantized model's by the precision of each type, metadata carried over,
// fallbacks for rows that do not split into blocks, and bad input.
#include <cmath>
#include <cstring>

#include "formats/gguf_file.h"
#include "model/model_quantize.h"
#include "model/transformer.h"
#include "model_test_util.h"

namespace officina {
namespace {

using test::conformance_path;
using test::TempDir;

// Logits of every position of `tokens`, run as one prefill batch.
std::vector<float> all_logits(const Model& model, const std::vector<int32_t>& tokens) {
  ThreadPool pool(2);
  Transformer t(model, pool);
  auto cache = KvCache::create(model.config(), 1, static_cast<int64_t>(tokens.size()), default_kv_precision(model));
  EXPECT_TRUE(cache.has_value());
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < tokens.size(); ++i) rows.push_back({tokens[i], 0, static_cast<int32_t>(i), -1, true});
  std::vector<float> logits;
  auto ok = t.forward(rows, *cache, logits);
  EXPECT_TRUE(ok.has_value()) << (ok ? "" : ok.error().message);
  return logits;
}

// ||a - b|| / ||b||.
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

// Rows that split into 256-value super-blocks, so every scheme applies as such.
ModelConfig k_quant_config() {
  ModelConfig c = test::small_config();
  c.dim = 256;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.ffn_dim = 512;
  c.n_layers = 2;
  return c;
}

Result<std::unique_ptr<Model>> quantize_and_load(const Model& model, QuantScheme scheme, const std::string& out,
                                                 QuantizeReport* report = nullptr) {
  QuantizeOptions options;
  options.scheme = scheme;
  options.threads = 2;
  OFFICINA_TRY(QuantizeReport r, quantize_model(model, options, out));
  if (report) *report = r;
  return Model::load(out);
}

const std::vector<int32_t> kTokens{1, 15043, 3186, 29892, 920, 526, 366, 29973, 306, 626, 2691, 29889};

TEST(ModelQuantize, EachTypeLoadsWithItsTypesAndCloseLogits) {
  TempDir dir;
  auto f32 = test::make_model_file(dir.path("f32.gguf"), k_quant_config());
  ASSERT_TRUE(f32);
  const std::vector<float> reference = all_logits(*f32, kTokens);
  // Relative logit error each type may reach on this random network (weights
  // of std 0.08 amplify a weight error about five times by the logits):
  // 1.5 times what was measured (F16 1.1e-3, BF16 8.6e-3, Q8_0 0.034, Q4_0
  // 0.48, Q4_K 0.32, Q4_K_M 0.31), below what a wrong block layout, scale or
  // tensor gives (errors of 1 and more).
  struct Case {
    QuantScheme scheme;
    DType matrix_type;
    double tolerance;
  };
  std::vector<double> errors;
  for (const Case& k : {Case{QuantScheme::F16, DType::F16, 1.7e-3}, Case{QuantScheme::BF16, DType::BF16, 1.3e-2},
                        Case{QuantScheme::Q8_0, DType::Q8_0, 0.05}, Case{QuantScheme::Q4_0, DType::Q4_0, 0.7},
                        Case{QuantScheme::Q4_K, DType::Q4_K, 0.5}, Case{QuantScheme::Q4_K_M, DType::Q4_K, 0.47}}) {
    SCOPED_TRACE(std::string(quant_scheme_name(k.scheme)));
    QuantizeReport report;
    auto q = quantize_and_load(*f32, k.scheme, dir.path("q.gguf"), &report);
    ASSERT_TRUE(q) << q.error().message;
    const ModelWeights& w = (*q)->weights();
    EXPECT_EQ(w.layers[0].wq.dtype, k.matrix_type);
    EXPECT_EQ(w.layers[1].w_up.dtype, k.matrix_type);
    EXPECT_EQ(w.token_embd.dtype, k.matrix_type);
    EXPECT_TRUE(report.fallbacks.empty());
    EXPECT_EQ(report.tensors[DType::F32], 5);  // the norms
    EXPECT_LT(report.bytes_after, report.bytes_before);
    auto g = GgufFile::open(dir.path("q.gguf"));
    ASSERT_TRUE(g);
    for (const GgufTensorInfo& t : g->tensors())
      if (t.view.ndim == 1) EXPECT_EQ(t.view.dtype, DType::F32) << t.name;
    EXPECT_EQ(*g->get_int("general.file_type"), quant_scheme_file_type(k.scheme));
    EXPECT_EQ(g->find("general.quantization_version") != nullptr, dtype_is_quantized(k.matrix_type));
    const double error = relative_error(all_logits(**q, kTokens), reference);
    EXPECT_LT(error, k.tolerance);
    EXPECT_GT(error, 0.0);
    errors.push_back(error);
  }
  // More bits, less error: F16 < BF16 < Q8_0 < Q4_K_M < Q4_K < Q4_0 (the
  // K-quant's per-sub-block scales and mins beat Q4_0 at the same size).
  ASSERT_EQ(errors.size(), 6u);
  EXPECT_LT(errors[0], errors[1]);
  EXPECT_LT(errors[1], errors[2]);
  EXPECT_LT(errors[2], errors[5]);
  EXPECT_LT(errors[5], errors[4]);
  EXPECT_LT(errors[4], errors[3]);
}

TEST(ModelQuantize, Q4KMUsesQ6KForTheHeadAndHalfOfVAndDown) {
  TempDir dir;
  ModelConfig c = k_quant_config();
  c.n_layers = 8;  // more-bits layers of 8: 0, 3, 6, 7
  auto f32 = test::make_model_file(dir.path("f32.gguf"), c);
  ASSERT_TRUE(f32);
  auto q = quantize_and_load(*f32, QuantScheme::Q4_K_M, dir.path("q.gguf"));
  ASSERT_TRUE(q) << q.error().message;
  const ModelWeights& w = (*q)->weights();
  EXPECT_EQ(w.output.dtype, DType::Q6_K);
  EXPECT_EQ(w.token_embd.dtype, DType::Q4_K);
  int more = 0;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    const bool expect_more = l == 0 || l == 3 || l == 6 || l == 7;
    EXPECT_EQ(lw.wv.dtype, expect_more ? DType::Q6_K : DType::Q4_K) << l;
    EXPECT_EQ(lw.w_down.dtype, expect_more ? DType::Q6_K : DType::Q4_K) << l;
    for (const TensorView* t : {&lw.wq, &lw.wk, &lw.wo, &lw.w_gate, &lw.w_up}) EXPECT_EQ(t->dtype, DType::Q4_K) << l;
    more += lw.wv.dtype == DType::Q6_K;
  }
  EXPECT_EQ(more, 4);
  EXPECT_EQ(model_type_label(**q), "Q4_K_M");
}

TEST(ModelQuantize, SchemeTypesFollowLlamaCppsRecipe) {
  // 32 layers, as a 7B model: the first and last 4, and every third between.
  std::vector<int64_t> more;
  for (int64_t l = 0; l < 32; ++l)
    if (quant_scheme_type(QuantScheme::Q4_K_M, "blk." + std::to_string(l) + ".ffn_down.weight", 32, false) ==
        DType::Q6_K)
      more.push_back(l);
  EXPECT_EQ(more, (std::vector<int64_t>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}));
  EXPECT_EQ(quant_scheme_type(QuantScheme::Q4_K_M, "token_embd.weight", 32, true), DType::Q6_K);
  EXPECT_EQ(quant_scheme_type(QuantScheme::Q4_K_M, "token_embd.weight", 32, false), DType::Q4_K);
  EXPECT_EQ(quant_scheme_type(QuantScheme::Q4_K_M, "blk.5.attn_q.weight", 32, false), DType::Q4_K);
  EXPECT_EQ(quant_scheme_type(QuantScheme::Q4_K, "output.weight", 32, false), DType::Q4_K);
  EXPECT_EQ(quant_fallback_type(DType::Q4_K, 96), DType::Q4_0);
  EXPECT_EQ(quant_fallback_type(DType::Q6_K, 96), DType::Q8_0);
  EXPECT_EQ(quant_fallback_type(DType::Q8_0, 80), DType::F16);
  EXPECT_EQ(quant_fallback_type(DType::Q4_K, 80), DType::F16);
  EXPECT_EQ(quant_fallback_type(DType::Q4_K, 512), DType::Q4_K);
}

TEST(ModelQuantize, RowsThatDoNotSplitIntoBlocksFallBack) {
  TempDir dir;
  ModelConfig c = k_quant_config();
  c.ffn_dim = 288;  // ffn_down rows of 288: 9 Q8_0/Q4_0 blocks, not whole super-blocks
  auto f32 = test::make_model_file(dir.path("f32.gguf"), c);
  ASSERT_TRUE(f32);
  QuantizeReport report;
  auto q = quantize_and_load(*f32, QuantScheme::Q4_K_M, dir.path("q.gguf"), &report);
  ASSERT_TRUE(q) << q.error().message;
  ASSERT_EQ(report.fallbacks.size(), 2u);
  EXPECT_EQ(report.fallbacks[0].tensor, "blk.0.ffn_down.weight");
  EXPECT_EQ(report.fallbacks[0].cols, 288);
  EXPECT_EQ(report.fallbacks[0].used, DType::Q4_0);
  EXPECT_EQ(report.fallbacks[1].tensor, "blk.1.ffn_down.weight");  // wanted Q6_K
  EXPECT_EQ(report.fallbacks[1].used, DType::Q8_0);
  EXPECT_EQ((*q)->weights().layers[0].w_down.dtype, DType::Q4_0);
  EXPECT_EQ((*q)->weights().layers[1].w_down.dtype, DType::Q8_0);
  EXPECT_EQ((*q)->weights().layers[0].w_gate.dtype, DType::Q4_K);
  EXPECT_LT(relative_error(all_logits(**q, kTokens), all_logits(*f32, kTokens)), 0.47);
}

TEST(ModelQuantize, Q8_0MatchesModelInitWithThatType) {
  TempDir dir;
  auto f32 = test::make_model_file(dir.path("f32.gguf"), k_quant_config(), 7);
  auto direct = test::make_model_file(dir.path("direct.gguf"), k_quant_config(), 7, DType::Q8_0);
  ASSERT_TRUE(f32 && direct);
  auto q = quantize_and_load(*f32, QuantScheme::Q8_0, dir.path("q.gguf"));
  ASSERT_TRUE(q) << q.error().message;
  auto a = GgufFile::open(dir.path("q.gguf"));
  auto b = GgufFile::open(dir.path("direct.gguf"));
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (size_t i = 0; i < a->tensors().size(); ++i) {
    const TensorView& x = a->tensors()[i].view;
    const TensorView& y = b->tensors()[i].view;
    EXPECT_EQ(a->tensors()[i].name, b->tensors()[i].name);
    ASSERT_EQ(x.dtype, y.dtype) << a->tensors()[i].name;
    ASSERT_EQ(x.bytes(), y.bytes());
    EXPECT_EQ(std::memcmp(x.data, y.data, x.bytes()), 0) << a->tensors()[i].name;
  }
}

TEST(ModelQuantize, CopiesEveryKeyOfAGgufSource) {
  TempDir dir;
  auto source = Model::load(conformance_path("models/tiny-gqa.gguf"));
  ASSERT_TRUE(source) << source.error().message;
  auto q = quantize_and_load(**source, QuantScheme::Q8_0, dir.path("q.gguf"));
  ASSERT_TRUE(q) << q.error().message;
  const GgufFile& in = *(*source)->gguf();
  auto out = GgufFile::open(dir.path("q.gguf"));
  ASSERT_TRUE(out);
  for (const auto& [key, value] : in.metadata()) {
    const GgufValue* copy = out->find(key);
    ASSERT_NE(copy, nullptr) << key;
    if (key != "general.file_type") EXPECT_TRUE(*copy == value) << key;
  }
  EXPECT_EQ(*out->get_int("general.file_type"), 7);
  EXPECT_EQ(out->tensors().size(), in.tensors().size());
  EXPECT_EQ((*q)->tokenizer().encode("Buongiorno a tutti", true), (*source)->tokenizer().encode("Buongiorno a tutti", true));
}

TEST(ModelQuantize, HuggingFaceSourceWithFallbacks) {
  TempDir dir;
  auto hf = Model::load(conformance_path("models/tiny-gqa-hf"));
  ASSERT_TRUE(hf) << hf.error().message;
  QuantizeReport report;
  // dim 96: rows of 96 values take Q4_0 for Q4_K and Q8_0 for Q6_K.
  auto q = quantize_and_load(**hf, QuantScheme::Q4_K_M, dir.path("q.gguf"), &report);
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_FALSE(report.fallbacks.empty());
  EXPECT_EQ((*q)->weights().layers[0].wq.dtype, DType::Q4_0);
  EXPECT_EQ((*q)->weights().output.dtype, DType::Q8_0);
  EXPECT_EQ((*q)->weights().layers[1].w_down.dtype, DType::Q4_K);  // rows of ffn 256
  auto out = GgufFile::open(dir.path("q.gguf"));
  ASSERT_TRUE(out);
  EXPECT_NE(out->find("tokenizer.ggml.tokens"), nullptr);
  EXPECT_LT(relative_error(all_logits(**q, kTokens), all_logits(**hf, kTokens)), 0.65);  // measured 0.43, mostly Q4_0
}

TEST(ModelQuantize, BadInput) {
  auto bad = quant_scheme_from_name("Q5_K");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown quantization type 'Q5_K'"), std::string::npos);
  EXPECT_NE(bad.error().message.find("Q4_K_M"), std::string::npos);
  EXPECT_EQ(*quant_scheme_from_name("q4_k_m"), QuantScheme::Q4_K_M);
  auto source = Model::load(conformance_path("models/tiny-mha.gguf"));
  ASSERT_TRUE(source);
  QuantizeOptions options;
  auto r = quantize_model(**source, options, "/nonexistent-dir/out.gguf");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent-dir/out.gguf"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace officina
