// The LoRA training step of conformance/lora/tiny-gqa: initial adapter, the
// batch of expected.json as pre-tokenized data (batch 2, loss from
// `loss_on_targets_from_index`), AdamW lr 1e-2, wd 0.01, constant schedule,
// no clipping: step-0 loss, every gradient, the losses of three steps and the
// adapter after them, on the Hugging Face base with the PEFT adapter and on
// the GGUF base with the GGUF adapter.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "formats/safetensors_file.h"
#include "tensor/quantize.h"
#include "test_util.h"
#include "train/adamw.h"
#include "train/lora_trainer.h"

namespace officina {
namespace {

std::string lora_dir() { return test::conformance_path("lora/tiny-gqa"); }

nlohmann::json expected() {
  std::ifstream in(lora_dir() + "/expected.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

std::vector<TrainSequence> batch_of(const nlohmann::json& e) {
  const int from = e["batch"]["loss_on_targets_from_index"];
  std::vector<TrainSequence> out;
  for (const auto& s : e["batch"]["sequences"]) {
    TrainSequence seq;
    seq.tokens = s.get<std::vector<int32_t>>();
    seq.targets.assign(seq.tokens.size(), -1);
    for (size_t t = 0; t + 1 < seq.tokens.size(); ++t)
      if (static_cast<int>(t + 1) >= from) seq.targets[t] = seq.tokens[t + 1];
    out.push_back(std::move(seq));
  }
  return out;
}

// Mean loss over the batch, gradients accumulated for that mean.
double batch_loss(LoraTrainer& trainer, LoraParams& params, const std::vector<TrainSequence>& batch, bool backward) {
  int64_t n = 0;
  for (const auto& s : batch)
    for (int32_t t : s.targets) n += t >= 0;
  double sum = 0;
  if (backward) params.zero_grad();
  for (const auto& s : batch) {
    auto r = backward ? trainer.accumulate(s, 1.0f / static_cast<float>(n)) : trainer.evaluate(s);
    EXPECT_TRUE(r) << r.error().message;
    sum += r->loss_sum;
  }
  return sum / static_cast<double>(n);
}

double rel_l2(const std::vector<float>& got, const TensorView& want) {
  std::vector<float> w(static_cast<size_t>(want.elements()));
  for (int64_t r = 0; r < want.rows(); ++r) dequantize_row(want.dtype, want.row(r), &w[r * want.cols()], want.cols());
  double num = 0, den = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    num += (static_cast<double>(got[i]) - w[i]) * (static_cast<double>(got[i]) - w[i]);
    den += static_cast<double>(w[i]) * w[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

void run_conformance(const std::string& base, const std::string& adapter_path) {
  SCOPED_TRACE(base + " + " + adapter_path);
  const auto e = expected();
  auto model = Model::load(base);
  ASSERT_TRUE(model) << model.error().message;
  auto adapter = LoraAdapter::load(adapter_path, (*model)->config());
  ASSERT_TRUE(adapter) << adapter.error().message;
  LoraParams params = LoraParams::from_adapter(*adapter, (*model)->config(), e["lora"]["alpha"].get<double>());
  ASSERT_FLOAT_EQ(params.scale(), e["lora"]["scale"].get<float>());
  LoraTrainer trainer(**model, &params);
  const auto batch = batch_of(e);

  // Step 0: loss and every gradient.
  const double loss0 = batch_loss(trainer, params, batch, true);
  EXPECT_NEAR(loss0, e["loss_step0"].get<double>(), 1e-4 * e["loss_step0"].get<double>());
  auto grads = SafetensorsFile::open(lora_dir() + "/grads_step0.safetensors");
  ASSERT_TRUE(grads) << grads.error().message;
  int checked = 0;
  for (const auto& t : params.peft_tensors(/*gradients=*/true)) {
    auto want = grads->view(t.name + ".grad");
    ASSERT_TRUE(want) << want.error().message;
    EXPECT_LT(rel_l2(t.data, *want), 1e-3) << t.name;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(grads->tensors().size()));

  // Three AdamW steps.
  AdamWConfig config;
  config.beta1 = e["adamw"]["beta1"];
  config.beta2 = e["adamw"]["beta2"];
  config.eps = e["adamw"]["eps"];
  config.weight_decay = e["adamw"]["weight_decay"];
  AdamW optimizer(params, config);
  const double lr = e["adamw"]["lr"];
  const auto losses = e["losses_before_steps_0_1_2_and_after_3"].get<std::vector<double>>();
  for (int step = 0; step < 3; ++step) {
    const double loss = step == 0 ? loss0 : batch_loss(trainer, params, batch, true);
    EXPECT_NEAR(loss, losses[step], 1e-3 * losses[step]) << "before step " << step;
    optimizer.step(params, lr);
  }
  const double final_loss = batch_loss(trainer, params, batch, false);
  EXPECT_NEAR(final_loss, losses[3], 1e-3 * losses[3]);
  std::printf("loss step0 %.8f (reference %.8f), after 3 steps %.8f (reference %.8f)\n", loss0, losses[0], final_loss,
              losses[3]);
  auto after = SafetensorsFile::open(lora_dir() + "/adapter_after_3_steps.safetensors");
  ASSERT_TRUE(after);
  for (const auto& t : params.peft_tensors()) {
    auto want = after->view(t.name);
    ASSERT_TRUE(want) << want.error().message;
    EXPECT_LT(rel_l2(t.data, *want), 1e-3) << t.name;
  }
}

// Keeping every layer's activations and recomputing them give the same
// gradients (the default budget keeps them for this small model).
TEST(LoraTrainingConformance, RecomputationGivesTheSameGradients) {
  const auto e = expected();
  auto model = Model::load(test::conformance_path("models/tiny-gqa.gguf"));
  ASSERT_TRUE(model);
  auto adapter = LoraAdapter::load(lora_dir() + "/adapter.gguf", (*model)->config());
  ASSERT_TRUE(adapter);
  LoraParams kept = LoraParams::from_adapter(*adapter, (*model)->config(), 8.0);
  LoraParams recomputed = kept;
  ThreadPool pool(2);
  LoraTrainer a(**model, &kept, &pool), b(**model, &recomputed);
  b.set_memory_budget(0);
  const auto batch = batch_of(e);
  const double la = batch_loss(a, kept, batch, true), lb = batch_loss(b, recomputed, batch, true);
  EXPECT_NEAR(la, lb, 1e-9 * la);
  for (size_t i = 0; i < kept.pairs().size(); ++i) {
    EXPECT_EQ(kept.pairs()[i].grad_a, recomputed.pairs()[i].grad_a) << i;
    EXPECT_EQ(kept.pairs()[i].grad_b, recomputed.pairs()[i].grad_b) << i;
  }
}

TEST(LoraTrainingConformance, HuggingFaceBaseWithPeftAdapter) {
  run_conformance(test::conformance_path("models/tiny-gqa-hf"), lora_dir());
}

TEST(LoraTrainingConformance, GgufBaseWithGgufAdapter) {
  run_conformance(test::conformance_path("models/tiny-gqa.gguf"), lora_dir() + "/adapter.gguf");
}

}  // namespace
}  // namespace officina
