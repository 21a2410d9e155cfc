// A small Q8_0 model and random LoRA adapters for the serve-layer tests.
// Q8_0 because its matmul is batch-invariant bit for bit, so a sequence's
// greedy tokens do not depend on what else is in the batch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/model_test_util.h"
#include "train/adapter_export.h"
#include "train/lora_params.h"

namespace officina::test {

struct ServeFixture {
  TempDir dir;
  std::unique_ptr<Model> model;
  std::vector<std::shared_ptr<const LoraAdapter>> adapters;

  explicit ServeFixture(int adapter_count = 4) {
    ModelConfig c = small_config();
    c.context_length = 512;
    model = make_model_file(dir.path() + "/base.gguf", c, 7, DType::Q8_0);
    if (!model) return;
    for (int i = 0; i < adapter_count; ++i) {
      LoraInit init;
      init.rank = 4;
      init.seed = 100 + static_cast<uint64_t>(i);
      auto params = LoraParams::random(model->config(), init, 0.3);
      EXPECT_TRUE(params.has_value());
      const std::string path = dir.path() + "/adapter" + std::to_string(i);
      EXPECT_TRUE(write_peft_adapter(*params, AdapterInfo{}, path).has_value());
      auto adapter = LoraAdapter::load(path, model->config());
      EXPECT_TRUE(adapter.has_value()) << (adapter ? "" : adapter.error().message);
      if (adapter) adapters.push_back(std::make_shared<const LoraAdapter>(std::move(*adapter)));
    }
  }
  std::string adapter_path(int i) const { return dir.path() + "/adapter" + std::to_string(i); }
};

}  // namespace officina::test
