// Full-parameter training: the gradient of every weight of a tiny random
// Llama model (embedding, each layer's RMSNorm weights and q/k/v/o/gate/up/
// down matrices, the final norm, the output head or the tied embedding)
// against central finite differences of the loss, on a packed sequence with
// untrained positions, with GQA, with kept and with recomputed activations.
#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "model/random_model.h"
#include "train/full_params.h"
#include "train/lora_trainer.h"

namespace officina {
namespace {

ModelConfig tiny_config(bool tied) {
  ModelConfig c;
  c.dim = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 4;
  c.ffn_dim = 24;
  c.vocab_size = 40;
  c.context_length = 32;
  c.tied_embeddings = tied;
  return c;
}

// Two packed samples; position 4 and the last position are not trained.
TrainSequence tiny_sequence() {
  TrainSequence s;
  s.tokens = {3, 17, 17, 9, 30, 1, 22, 5, 39, 12, 7};
  s.targets = {17, 17, 9, 30, -1, 22, 5, 39, 12, 7, -1};
  s.positions = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5};
  s.segments = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  return s;
}

struct Fixture {
  std::unique_ptr<RandomModel> random;
  std::optional<FullParams> params;
};

Fixture make_fixture(bool tied) {
  Fixture f;
  auto random = make_random_model(tiny_config(tied), 5, 0.3);
  EXPECT_TRUE(random) << random.error().message;
  f.random = std::move(*random);
  auto params = FullParams::from_weights(f.random->config, f.random->weights, "tiny");
  EXPECT_TRUE(params) << params.error().message;
  f.params.emplace(std::move(*params));
  // Norm weights of 1 would hide a gradient that ignores them.
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> around_one(0.6f, 1.4f);
  for (FullTensor& t : f.params->tensors())
    if (!t.matrix)
      for (float& x : t.value) x = around_one(gen);
  return f;
}

double loss_of(LoraTrainer& trainer, const TrainSequence& seq) {
  auto r = trainer.evaluate(seq);
  EXPECT_TRUE(r) << r.error().message;
  return r->loss_sum;
}

// The analytic gradient of one tensor against finite differences: along a
// random direction over the whole tensor, and at the coordinates with the
// largest gradients.
void check_tensor(LoraTrainer& trainer, FullTensor& t, const TrainSequence& seq) {
  SCOPED_TRACE(t.name);
  std::mt19937 gen(static_cast<uint32_t>(t.value.size()) + 3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> dir(t.value.size());
  double norm = 0;
  for (float& d : dir) {
    d = normal(gen);
    norm += static_cast<double>(d) * d;
  }
  double analytic = 0;
  for (size_t i = 0; i < dir.size(); ++i) {
    dir[i] = static_cast<float>(dir[i] / std::sqrt(norm));
    analytic += static_cast<double>(dir[i]) * t.grad[i];
  }
  const std::vector<float> saved = t.value;
  const float h = 1e-2f;
  auto shifted_loss = [&](float by) {
    for (size_t i = 0; i < dir.size(); ++i) t.value[i] = saved[i] + by * dir[i];
    const double l = loss_of(trainer, seq);
    t.value = saved;
    return l;
  };
  const double numeric = (shifted_loss(h) - shifted_loss(-h)) / (2.0 * h);
  double max_grad = 0;
  for (float g : t.grad) max_grad = std::max(max_grad, std::fabs(static_cast<double>(g)));
  ASSERT_GT(max_grad, 1e-3) << "no gradient reached the tensor";
  EXPECT_NEAR(analytic, numeric, 2e-2 * std::fabs(numeric) + 2e-3 * max_grad);

  std::vector<size_t> order(t.grad.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::partial_sort(order.begin(), order.begin() + 3, order.end(),
                    [&](size_t a, size_t b) { return std::fabs(t.grad[a]) > std::fabs(t.grad[b]); });
  for (int k = 0; k < 3; ++k) {
    const size_t i = order[static_cast<size_t>(k)];
    t.value[i] = saved[i] + h;
    const double up = loss_of(trainer, seq);
    t.value[i] = saved[i] - h;
    const double down = loss_of(trainer, seq);
    t.value[i] = saved[i];
    const double fd = (up - down) / (2.0 * h);
    EXPECT_NEAR(t.grad[i], fd, 2e-2 * std::fabs(fd) + 2e-3 * max_grad) << "element " << i;
  }
}

void check_all(bool tied, int64_t memory_budget) {
  Fixture f = make_fixture(tied);
  FullParams& p = *f.params;
  LoraTrainer trainer(p.config(), p.weights(), &p.grads());
  trainer.set_memory_budget(memory_budget);
  const TrainSequence seq = tiny_sequence();
  p.zero_grad();
  auto r = trainer.accumulate(seq, 1.0f);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NEAR(r->loss_sum, loss_of(trainer, seq), 1e-4 * r->loss_sum);
  const size_t expected = 1 + 9 * 2 + 1 + (tied ? 0 : 1);
  ASSERT_EQ(p.tensors().size(), expected);
  for (FullTensor& t : p.tensors()) check_tensor(trainer, t, seq);
}

TEST(FullGradient, EveryWeightMatchesFiniteDifferences) { check_all(false, int64_t{1} << 30); }

TEST(FullGradient, RecomputedActivationsGiveTheSameGradients) {
  Fixture kept = make_fixture(false), recomputed = make_fixture(false);
  LoraTrainer a(kept.params->config(), kept.params->weights(), &kept.params->grads());
  LoraTrainer b(recomputed.params->config(), recomputed.params->weights(), &recomputed.params->grads());
  b.set_memory_budget(0);  // one layer's activations kept, the other recomputed
  kept.params->zero_grad();
  recomputed.params->zero_grad();
  ASSERT_TRUE(a.accumulate(tiny_sequence(), 0.5f));
  ASSERT_TRUE(b.accumulate(tiny_sequence(), 0.5f));
  for (size_t i = 0; i < kept.params->tensors().size(); ++i)
    EXPECT_EQ(kept.params->tensors()[i].grad, recomputed.params->tensors()[i].grad) << kept.params->tensors()[i].name;
}

TEST(FullGradient, TiedEmbeddingGetsBothGradients) { check_all(true, 0); }

TEST(FullGradient, QuantizedWeightsAreRefused) {
  auto random = make_random_model(tiny_config(false), 1);
  ASSERT_TRUE(random);
  ModelWeights w = (*random)->weights;
  w.layers[1].w_up.dtype = DType::Q8_0;  // only the type is read before refusing
  auto p = FullParams::from_weights((*random)->config, w, "tiny.gguf");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("--full needs an F32 model: tiny.gguf stores 'blk.1.ffn_up.weight' as Q8_0"),
            std::string::npos)
      << p.error().message;
}

}  // namespace
}  // namespace officina
