// LoRA adapters at inference: the conformance logits with the initial adapter
// (PEFT on the Hugging Face base, GGUF LoRA on the GGUF base, PEFT on the
// GGUF base), rows with different adapters in one batch, stacking, and
// adapters that do not fit.
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/transformer.h"
#include "model_test_util.h"

namespace officina {
namespace {

std::string lora_dir() { return test::conformance_path("lora/tiny-gqa"); }
std::string models() { return test::conformance_path("models"); }

nlohmann::json expected() {
  std::ifstream in(lora_dir() + "/expected.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// Last-position logits of `tokens` with the given adapter (or none).
std::vector<float> last_logits(const Model& model, const std::vector<int32_t>& tokens, const LoraAdapter* adapter) {
  ThreadPool pool(2);
  Transformer t(model, pool);
  if (adapter) t.set_adapters({adapter});
  auto cache = KvCache::create(model.config(), 1, static_cast<int64_t>(tokens.size()));
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < tokens.size(); ++i)
    rows.push_back({tokens[i], 0, static_cast<int32_t>(i), adapter ? 0 : -1, i + 1 == tokens.size()});
  std::vector<float> logits;
  auto ok = t.forward(rows, *cache, logits);
  EXPECT_TRUE(ok) << ok.error().message;
  return logits;
}

double rel_l2(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / den);
}

TEST(LoraAdapter, ConformanceLogitsForEveryAdapterAndBaseForm) {
  auto e = expected()["inference_with_init_adapter"];
  auto tokens = e["tokens"].get<std::vector<int32_t>>();
  auto want = e["last_logits"].get<std::vector<double>>();
  struct Combo {
    std::string base, adapter;
  };
  for (const Combo& c : {Combo{models() + "/tiny-gqa-hf", lora_dir()},
                         Combo{models() + "/tiny-gqa.gguf", lora_dir() + "/adapter.gguf"},
                         Combo{models() + "/tiny-gqa.gguf", lora_dir() + "/adapter_model.safetensors"},
                         Combo{models() + "/tiny-gqa-hf", lora_dir() + "/adapter.gguf"}}) {
    SCOPED_TRACE(c.base + " + " + c.adapter);
    auto model = Model::load(c.base);
    ASSERT_TRUE(model) << model.error().message;
    auto adapter = LoraAdapter::load(c.adapter, (*model)->config());
    ASSERT_TRUE(adapter) << adapter.error().message;
    EXPECT_FLOAT_EQ(adapter->scale(), 2.0f);
    EXPECT_EQ(adapter->rank(), 4);
    EXPECT_EQ(adapter->pair_count(), 7 * (*model)->config().n_layers);
    auto got = last_logits(**model, tokens, &*adapter);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(rel_l2(got, want), 1e-5);
    // And the adapter really changes the output.
    auto base = last_logits(**model, tokens, nullptr);
    EXPECT_GT(rel_l2(base, want), 1e-2);
  }
}

TEST(LoraAdapter, RowsWithDifferentAdaptersInOneBatchMatchSeparateRuns) {
  auto model = Model::load(models() + "/tiny-gqa.gguf");
  ASSERT_TRUE(model);
  auto full = LoraAdapter::load(lora_dir() + "/adapter.gguf", (*model)->config());
  auto half = LoraAdapter::load(lora_dir() + "/adapter.gguf", (*model)->config(), 0.5f);
  ASSERT_TRUE(full && half);
  const std::vector<int32_t> tokens = {1, 450, 24638, 10430, 11492, 515};
  auto alone_full = last_logits(**model, tokens, &*full);
  auto alone_half = last_logits(**model, tokens, &*half);
  auto alone_base = last_logits(**model, tokens, nullptr);

  ThreadPool pool(2);
  Transformer t(**model, pool);
  t.set_adapters({&*full, &*half});
  auto cache = KvCache::create((*model)->config(), 3, 16);
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < tokens.size(); ++i)
    for (int32_t slot = 0; slot < 3; ++slot)
      rows.push_back({tokens[i], slot, static_cast<int32_t>(i), slot == 2 ? -1 : slot, i + 1 == tokens.size()});
  std::vector<float> logits;
  ASSERT_TRUE(t.forward(rows, *cache, logits));
  const size_t vocab = alone_base.size();
  ASSERT_EQ(logits.size(), 3 * vocab);
  for (size_t v = 0; v < vocab; ++v) {
    EXPECT_NEAR(logits[v], alone_full[v], 1e-4);
    EXPECT_NEAR(logits[vocab + v], alone_half[v], 1e-4);
    EXPECT_NEAR(logits[2 * vocab + v], alone_base[v], 1e-4);
  }
  // An adapter index that was never set is refused.
  rows = {{1, 0, 0, 5, true}};
  auto bad = t.forward(rows, *cache, logits);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("adapter 5"), std::string::npos);
}

TEST(LoraAdapter, StackedAdaptersSumTheirContributions) {
  auto model = Model::load(models() + "/tiny-gqa.gguf");
  ASSERT_TRUE(model);
  const auto& config = (*model)->config();
  auto a = LoraAdapter::load(lora_dir() + "/adapter.gguf", config, 0.25f);
  auto b = LoraAdapter::load(lora_dir() + "/adapter_model.safetensors", config, 0.75f);
  auto one = LoraAdapter::load(lora_dir() + "/adapter.gguf", config, 1.0f);
  ASSERT_TRUE(a && b && one);
  std::vector<LoraAdapter> parts;
  parts.push_back(std::move(*a));
  parts.push_back(std::move(*b));
  LoraAdapter stacked = LoraAdapter::stack(std::move(parts));
  EXPECT_EQ(stacked.rank(), 8);
  const std::vector<int32_t> tokens = {1, 822, 288, 3905};
  auto got = last_logits(**model, tokens, &stacked);
  auto want = last_logits(**model, tokens, &*one);
  for (size_t v = 0; v < want.size(); ++v) EXPECT_NEAR(got[v], want[v], 2e-4);
}

TEST(LoraAdapter, BadAdaptersGiveClearErrors) {
  auto mha = Model::load(models() + "/tiny-mha.gguf");
  ASSERT_TRUE(mha);
  // tiny-gqa's adapter does not fit tiny-mha (more key/value heads).
  auto wrong = LoraAdapter::load(lora_dir() + "/adapter.gguf", (*mha)->config());
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("another model"), std::string::npos) << wrong.error().message;
  auto missing = LoraAdapter::load("/nonexistent/adapter", (*mha)->config());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no such adapter"), std::string::npos);
  // A model file is not an adapter.
  auto model_file = LoraAdapter::load(models() + "/tiny-gqa.gguf", (*mha)->config());
  ASSERT_FALSE(model_file);
  // A PEFT directory without adapter_config.json.
  test::TempDir dir;
  std::filesystem::copy_file(lora_dir() + "/adapter_model.safetensors", dir.path("adapter_model.safetensors"));
  auto no_config = LoraAdapter::load(dir.path(), (*mha)->config());
  ASSERT_FALSE(no_config);
  EXPECT_NE(no_config.error().message.find("adapter_config.json"), std::string::npos) << no_config.error().message;
  // Specs.
  auto spec = LoraAdapter::parse_spec("dir/adapter:0.5");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->first, "dir/adapter");
  EXPECT_FLOAT_EQ(spec->second, 0.5f);
  auto plain = LoraAdapter::parse_spec("C:dir");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->first, "C:dir");
  EXPECT_FALSE(LoraAdapter::parse_spec(""));
  EXPECT_FALSE(LoraAdapter::parse_spec("x:inf"));
}

}  // namespace
}  // namespace officina
