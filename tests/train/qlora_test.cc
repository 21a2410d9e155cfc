// QLoRA: LoRA on a quantized base. On the small-256 models (Q8_0, Q4_0,
// Q4_K_M) the loss of a fixed batch falls under AdamW, and the gradients
// equal those computed on an F32 copy of the dequantized weights.
#include <cmath>

#include <gtest/gtest.h>

#include "model/gguf_export.h"
#include "test_util.h"
#include "train/adamw.h"
#include "train/lora_trainer.h"

namespace officina {
namespace {

std::vector<TrainSequence> toy_batch(const Model& model) {
  std::vector<TrainSequence> out;
  for (std::string text : {"La pressa 3 ha vibrazioni alte: serve manutenzione entro 48 ore.",
                           "Line 2 OEE this week is 81 percent, down from 86."}) {
    TrainSequence s;
    s.tokens = model.tokenizer().encode(text, true);
    s.targets.assign(s.tokens.size(), -1);
    for (size_t t = 0; t + 1 < s.tokens.size(); ++t) s.targets[t] = s.tokens[t + 1];
    out.push_back(std::move(s));
  }
  return out;
}

double step_loss(LoraTrainer& trainer, LoraParams& params, const std::vector<TrainSequence>& batch) {
  int64_t n = 0;
  for (const auto& s : batch)
    for (int32_t t : s.targets) n += t >= 0;
  params.zero_grad();
  double sum = 0;
  for (const auto& s : batch) {
    auto r = trainer.accumulate(s, 1.0f / static_cast<float>(n));
    EXPECT_TRUE(r) << r.error().message;
    sum += r->loss_sum;
  }
  return sum / static_cast<double>(n);
}

class QLora : public ::testing::TestWithParam<std::string> {};

TEST_P(QLora, LossFallsAndGradientsMatchTheDequantizedModel) {
  auto model = Model::load(test::conformance_path("models/" + GetParam()));
  ASSERT_TRUE(model) << model.error().message;
  const ModelConfig& config = (*model)->config();
  LoraInit init;
  init.rank = 4;
  init.alpha = 8;
  init.seed = 3;
  auto params = LoraParams::init(config, init);
  ASSERT_TRUE(params);
  // B = 0 at init would leave A's gradient zero; start from a small random B.
  for (auto& p : params->pairs())
    for (size_t i = 0; i < p.b.size(); ++i) p.b[i] = 0.01f * std::sin(static_cast<float>(i + p.layer));
  LoraParams on_f32 = *params;

  const auto batch = toy_batch(**model);
  LoraTrainer trainer(**model, &*params);
  const double first = step_loss(trainer, *params, batch);

  // The same step on an F32 copy of the dequantized weights.
  test::TempDir dir;
  auto metadata = tokenizer_gguf_metadata(**model);
  ASSERT_TRUE(metadata);
  GgufExportOptions options;
  options.matrix_type = DType::F32;
  ASSERT_TRUE(write_llama_gguf(config, (*model)->weights(), *metadata, options, dir.path("f32.gguf")));
  auto f32_model = Model::load(dir.path("f32.gguf"));
  ASSERT_TRUE(f32_model) << f32_model.error().message;
  LoraTrainer f32_trainer(**f32_model, &on_f32);
  const double f32_loss = step_loss(f32_trainer, on_f32, batch);
  EXPECT_NEAR(first, f32_loss, 1e-3 * f32_loss);
  for (size_t i = 0; i < params->pairs().size(); ++i) {
    const auto& q = params->pairs()[i];
    const auto& f = on_f32.pairs()[i];
    double num = 0, den = 0;
    for (size_t j = 0; j < q.grad_a.size(); ++j) {
      num += std::pow(q.grad_a[j] - f.grad_a[j], 2);
      den += std::pow(f.grad_a[j], 2);
    }
    EXPECT_LT(std::sqrt(num / std::max(den, 1e-30)), 1e-3) << "pair " << i;
  }

  AdamWConfig adam;
  AdamW optimizer(*params, adam);
  double loss = first;
  for (int step = 0; step < 8; ++step) {
    optimizer.step(*params, 1e-2);
    loss = step_loss(trainer, *params, batch);
  }
  EXPECT_LT(loss, 0.8 * first) << "first " << first << " last " << loss;
}

INSTANTIATE_TEST_SUITE_P(SmallModels, QLora,
                         ::testing::Values("small-256-Q8_0.gguf", "small-256-Q4_0.gguf", "small-256-Q4_K_M.gguf"));

}  // namespace
}  // namespace officina
