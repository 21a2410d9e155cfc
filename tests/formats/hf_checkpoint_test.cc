#include "formats/hf_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace officina {
namespace {

void write_text(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::byte> pattern(size_t n, int seed) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 17 + seed) & 0xff);
  return out;
}

void expect_error(const Result<HfCheckpoint>& r, std::string_view place, std::string_view problem) {
  ASSERT_FALSE(r) << "opened, expected: " << problem;
  const std::string& m = r.error().message;
  EXPECT_NE(m.find(place), std::string::npos) << "'" << place << "' not in: " << m;
  EXPECT_NE(m.find(problem), std::string::npos) << "'" << problem << "' not in: " << m;
}

TEST(HfCheckpoint, ConformanceDirectory) {
  std::string dir = test::conformance_path("models/tiny-gqa-hf");
  auto ckpt = HfCheckpoint::open(dir);
  ASSERT_TRUE(ckpt) << ckpt.error().message;
  EXPECT_EQ(ckpt->config().at("hidden_size").get<int>(), 96);
  EXPECT_EQ(ckpt->config().at("model_type").get<std::string>(), "llama");
  EXPECT_NE(ckpt->tokenizer_path().find("tokenizer.json"), std::string::npos);
  EXPECT_NE(ckpt->tokenizer_config_path().find("tokenizer_config.json"), std::string::npos);
  EXPECT_EQ(ckpt->shards().size(), 1u);
  auto names = ckpt->tensor_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  // embed + 3 layers x 9 + norm + lm_head
  EXPECT_EQ(names.size(), 30u);
  const TensorView* embed = ckpt->find_tensor("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->dtype, DType::F16);
  EXPECT_EQ(shape_string(*embed), "[32000, 96]");
  const TensorView* q = ckpt->find_tensor("model.layers.2.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(shape_string(*q), "[96, 96]");
  EXPECT_NE(ckpt->find_tensor("lm_head.weight"), nullptr);
  EXPECT_EQ(ckpt->find_tensor("model.nope"), nullptr);
  auto missing = ckpt->tensor("model.nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("tensor 'model.nope' missing"), std::string::npos);
}

// A two-shard checkpoint written by write_safetensors.
class ShardedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_.path("config.json"), R"({"model_type": "llama", "hidden_size": 4})");
    std::vector<SafetensorsWriteTensor> one = {{"a.weight", DType::F32, {2, 2}, a_}, {"b.weight", DType::F16, {4}, b_}};
    std::vector<SafetensorsWriteTensor> two = {{"c.weight", DType::BF16, {2}, c_}};
    ASSERT_TRUE(write_safetensors(dir_.path("model-00001-of-00002.safetensors"), one));
    ASSERT_TRUE(write_safetensors(dir_.path("model-00002-of-00002.safetensors"), two));
  }
  void write_index(std::string_view weight_map) {
    write_text(dir_.path("model.safetensors.index.json"),
               fmt::format(R"({{"metadata": {{"total_size": 28}}, "weight_map": {}}})", weight_map));
  }

  test::TempDir dir_;
  std::vector<std::byte> a_ = pattern(16, 1), b_ = pattern(8, 2), c_ = pattern(4, 3);
};

TEST_F(ShardedCheckpoint, OpensEveryShardOnce) {
  write_index(R"({"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00001-of-00002.safetensors",
                  "c.weight": "model-00002-of-00002.safetensors"})");
  auto ckpt = HfCheckpoint::open(dir_.path());
  ASSERT_TRUE(ckpt) << ckpt.error().message;
  EXPECT_EQ(ckpt->shards().size(), 2u);
  EXPECT_EQ(ckpt->tensor_names(), (std::vector<std::string>{"a.weight", "b.weight", "c.weight"}));
  EXPECT_TRUE(ckpt->tokenizer_path().empty());
  const TensorView* c = ckpt->find_tensor("c.weight");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->dtype, DType::BF16);
  EXPECT_EQ(std::memcmp(c->data, c_.data(), c_.size()), 0);
  EXPECT_EQ(std::memcmp(ckpt->tensor("a.weight").value()->data, a_.data(), a_.size()), 0);
}

TEST_F(ShardedCheckpoint, IndexNamingMissingShard) {
  write_index(R"({"a.weight": "model-00003-of-00002.safetensors"})");
  expect_error(HfCheckpoint::open(dir_.path()), "model.safetensors.index.json",
               "tensor 'a.weight' is mapped to shard 'model-00003-of-00002.safetensors', which does not exist");
}

TEST_F(ShardedCheckpoint, TensorAbsentFromShard) {
  write_index(R"({"c.weight": "model-00001-of-00002.safetensors"})");
  expect_error(HfCheckpoint::open(dir_.path()), "model.safetensors.index.json",
               "tensor 'c.weight' is mapped to shard 'model-00001-of-00002.safetensors', but that shard has no such "
               "tensor");
}

TEST_F(ShardedCheckpoint, ShardOutsideDirectoryRefused) {
  write_index(R"({"a.weight": "../model-00001-of-00002.safetensors"})");
  expect_error(HfCheckpoint::open(dir_.path()), "model.safetensors.index.json", "not a file name in this directory");
}

TEST_F(ShardedCheckpoint, MalformedIndex) {
  write_text(dir_.path("model.safetensors.index.json"), R"({"weight_map": [1]})");
  expect_error(HfCheckpoint::open(dir_.path()), "model.safetensors.index.json", "'weight_map' missing or not an object");
  write_text(dir_.path("model.safetensors.index.json"), R"({"weight_map": )");
  expect_error(HfCheckpoint::open(dir_.path()), "model.safetensors.index.json", "invalid JSON");
}

TEST_F(ShardedCheckpoint, CorruptShardNamesShard) {
  write_index(R"({"a.weight": "model-00001-of-00002.safetensors"})");
  write_text(dir_.path("model-00001-of-00002.safetensors"), "garbage!garbage!");
  expect_error(HfCheckpoint::open(dir_.path()), "model-00001-of-00002.safetensors", "header length");
}

TEST(HfCheckpointErrors, MissingDirectory) {
  expect_error(HfCheckpoint::open("/nonexistent/model-dir"), "/nonexistent/model-dir", "no such directory");
}

TEST(HfCheckpointErrors, NotADirectory) {
  expect_error(HfCheckpoint::open(test::conformance_path("models/tiny-gqa.gguf")), "tiny-gqa.gguf", "not a directory");
}

TEST(HfCheckpointErrors, MissingConfig) {
  test::TempDir dir;
  expect_error(HfCheckpoint::open(dir.path()), dir.path(), "config.json missing");
}

TEST(HfCheckpointErrors, MalformedConfig) {
  test::TempDir dir;
  write_text(dir.path("config.json"), "{\"hidden_size\": 96,,}");
  expect_error(HfCheckpoint::open(dir.path()), dir.path("config.json"), "invalid JSON at byte");
  write_text(dir.path("config.json"), "[96]");
  expect_error(HfCheckpoint::open(dir.path()), dir.path("config.json"), "expected a JSON object");
}

TEST(HfCheckpointErrors, NoWeights) {
  test::TempDir dir;
  write_text(dir.path("config.json"), "{}");
  write_text(dir.path("pytorch_model.bin"), "x");
  expect_error(HfCheckpoint::open(dir.path()), dir.path(), "no model.safetensors or model.safetensors.index.json");
}

}  // namespace
}  // namespace officina
