// The adapters officina writes have the shape of the reference ones: the
// conformance PEFT adapter, read and written back, gives the same tensors
// under the same names, and written as GGUF it matches the reference
// adapter.gguf (llama.cpp's format) key for key and tensor for tensor.
#include <cmath>

#include <gtest/gtest.h>

#include "base/json_util.h"
#include "formats/gguf_file.h"
#include "formats/safetensors_file.h"
#include "model/model.h"
#include "tensor/quantize.h"
#include "test_util.h"
#include "train/adapter_export.h"

namespace officina {
namespace {

std::vector<float> floats(const TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.elements()));
  for (int64_t r = 0; r < t.rows(); ++r) dequantize_row(t.dtype, t.row(r), &out[r * t.cols()], t.cols());
  return out;
}

class AdapterExport : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::load(test::conformance_path("models/tiny-gqa.gguf"));
    ASSERT_TRUE(m);
    model = std::move(*m);
    auto a = LoraAdapter::load(test::conformance_path("lora/tiny-gqa"), model->config());
    ASSERT_TRUE(a) << a.error().message;
    params = LoraParams::from_adapter(*a, model->config(), 8.0);
  }
  std::unique_ptr<Model> model;
  LoraParams params;
  test::TempDir dir;
};

TEST_F(AdapterExport, PeftRoundTripKeepsEveryTensor) {
  ASSERT_TRUE(write_peft_adapter(params, AdapterInfo{"tiny-gqa-hf", 0.0}, dir.path("peft")));
  auto mine = SafetensorsFile::open(dir.path("peft/adapter_model.safetensors"));
  auto reference = SafetensorsFile::open(test::conformance_path("lora/tiny-gqa/adapter_model.safetensors"));
  ASSERT_TRUE(mine && reference);
  ASSERT_EQ(mine->tensors().size(), reference->tensors().size());
  for (const auto& t : reference->tensors()) {
    auto a = mine->view(t.name);
    ASSERT_TRUE(a) << a.error().message;
    auto b = reference->view(t.name);
    ASSERT_EQ(shape_string(*a), shape_string(*b)) << t.name;
    EXPECT_EQ(floats(*a), floats(*b)) << t.name;
  }
  auto config = read_json_file(dir.path("peft/adapter_config.json"));
  ASSERT_TRUE(config);
  EXPECT_EQ((*config)["r"], 4);
  EXPECT_EQ((*config)["lora_alpha"], 8.0);
  EXPECT_EQ((*config)["peft_type"], "LORA");
}

TEST_F(AdapterExport, GgufMatchesTheReferenceLayout) {
  ASSERT_TRUE(write_gguf_adapter(params, AdapterInfo{"tiny-gqa-hf", 0.0}, dir.path("adapter.gguf")));
  auto mine = GgufFile::open(dir.path("adapter.gguf"));
  auto reference = GgufFile::open(test::conformance_path("lora/tiny-gqa/adapter.gguf"));
  ASSERT_TRUE(mine && reference);
  for (const char* key : {"general.type", "adapter.type", "general.architecture"}) {
    auto a = mine->get_string(key);
    auto b = reference->get_string(key);
    ASSERT_TRUE(a && b) << key;
    EXPECT_EQ(*a, *b) << key;
  }
  EXPECT_FLOAT_EQ(*mine->get_float("adapter.lora.alpha"), *reference->get_float("adapter.lora.alpha"));
  ASSERT_EQ(mine->tensors().size(), reference->tensors().size());
  for (const auto& t : reference->tensors()) {
    const GgufTensorInfo* m = mine->find_tensor(t.name);
    ASSERT_NE(m, nullptr) << t.name;
    EXPECT_EQ(shape_string(m->view), shape_string(t.view)) << t.name;
    auto a = floats(m->view), b = floats(t.view);
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      num += std::pow(a[i] - b[i], 2);
      den += std::pow(b[i], 2);
    }
    EXPECT_LT(std::sqrt(num / std::max(den, 1e-30)), 1e-3) << t.name;  // the reference may store F16
  }
}

}  // namespace
}  // namespace officina
