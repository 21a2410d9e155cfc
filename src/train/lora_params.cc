#include "train/lora_params.h"

#include <cmath>
#include <cstring>

#include "base/random.h"
#include "model/rope_layout.h"

namespace officina {
namespace {

std::string peft_module(LoraTarget t) {
  switch (t) {
    case LoraTarget::Q:
    case LoraTarget::K:
    case LoraTarget::V:
    case LoraTarget::O: return "self_attn." + std::string(lora_target_name(t));
    default: return "mlp." + std::string(lora_target_name(t));
  }
}

}  // namespace

void LoraParams::index() {
  lookup_.assign(static_cast<size_t>(config_copy_.n_layers), {});
  for (auto& row : lookup_) row.fill(-1);
  for (size_t i = 0; i < pairs_.size(); ++i)
    lookup_[static_cast<size_t>(pairs_[i].layer)][static_cast<size_t>(pairs_[i].target)] = static_cast<int32_t>(i);
}

Result<LoraParams> LoraParams::init(const ModelConfig& config, const LoraInit& init) {
  if (init.rank < 1 || init.rank > 4096) return fail("LoRA rank {} must be between 1 and 4096", init.rank);
  if (!(init.alpha > 0)) return fail("LoRA alpha must be positive");
  LoraParams p;
  p.config_copy_ = config;
  p.rank_ = init.rank;
  p.alpha_ = init.alpha;
  p.scale_ = static_cast<float>(init.rslora ? init.alpha / std::sqrt(static_cast<double>(init.rank))
                                            : init.alpha / static_cast<double>(init.rank));
  for (int64_t l = 0; l < config.n_layers; ++l) {
    for (int t = 0; t < kLoraTargets; ++t) {
      if (!init.targets[static_cast<size_t>(t)]) continue;
      TrainPair pair;
      pair.layer = l;
      pair.target = static_cast<LoraTarget>(t);
      auto [out, in] = lora_projection_shape(pair.target, config);
      pair.rank = init.rank;
      pair.in_features = in;
      pair.out_features = out;
      // One stream per pair: the same seed gives the same adapter whatever the target subset.
      Rng rng(mix_seed(init.seed ^ mix_seed(static_cast<uint64_t>(l * kLoraTargets + t + 1))));
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));
      pair.a.resize(static_cast<size_t>(init.rank * in));
      for (float& x : pair.a) x = static_cast<float>((rng.uniform() * 2.0 - 1.0) * bound);
      pair.b.assign(static_cast<size_t>(out * init.rank), 0.0f);
      pair.grad_a.assign(pair.a.size(), 0.0f);
      pair.grad_b.assign(pair.b.size(), 0.0f);
      p.pairs_.push_back(std::move(pair));
    }
  }
  if (p.pairs_.empty()) return fail("LoRA: no target projections chosen");
  p.index();
  return p;
}

Result<LoraParams> LoraParams::random(const ModelConfig& config, const LoraInit& init, double b_std) {
  if (!(b_std >= 0)) return fail("the standard deviation of B must not be negative");
  LoraParams p;
  OFFICINA_TRY(p, LoraParams::init(config, init));
  Rng rng(mix_seed(init.seed ^ 0x5eedb0b0u));
  for (TrainPair& pair : p.pairs_)
    for (float& x : pair.b) x = static_cast<float>(rng.normal() * b_std);
  return p;
}

LoraParams LoraParams::from_adapter(const LoraAdapter& adapter, const ModelConfig& config, double alpha) {
  LoraParams p;
  p.config_copy_ = config;
  p.scale_ = adapter.scale();
  p.rank_ = adapter.rank();
  p.alpha_ = alpha;
  for (int64_t l = 0; l < config.n_layers; ++l) {
    for (int t = 0; t < kLoraTargets; ++t) {
      const LoraPair* src = adapter.find(l, static_cast<LoraTarget>(t));
      if (!src) continue;
      TrainPair pair;
      pair.layer = l;
      pair.target = static_cast<LoraTarget>(t);
      pair.rank = src->rank;
      pair.in_features = src->in_features;
      pair.out_features = src->out_features;
      pair.a = src->a;
      pair.b = src->b;
      pair.grad_a.assign(pair.a.size(), 0.0f);
      pair.grad_b.assign(pair.b.size(), 0.0f);
      p.pairs_.push_back(std::move(pair));
    }
  }
  p.index();
  return p;
}

TrainPair* LoraParams::find(int64_t layer, LoraTarget target) {
  if (layer < 0 || layer >= static_cast<int64_t>(lookup_.size())) return nullptr;
  int32_t i = lookup_[static_cast<size_t>(layer)][static_cast<size_t>(target)];
  return i < 0 ? nullptr : &pairs_[static_cast<size_t>(i)];
}

const TrainPair* LoraParams::find(int64_t layer, LoraTarget target) const {
  return const_cast<LoraParams*>(this)->find(layer, target);
}

void LoraParams::zero_grad() {
  for (auto& p : pairs_) {
    std::fill(p.grad_a.begin(), p.grad_a.end(), 0.0f);
    std::fill(p.grad_b.begin(), p.grad_b.end(), 0.0f);
  }
}

int64_t LoraParams::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : pairs_) n += static_cast<int64_t>(p.a.size() + p.b.size());
  return n;
}

std::vector<PeftTensor> LoraParams::peft_tensors(bool gradients) const {
  std::vector<PeftTensor> out;
  for (const auto& p : pairs_) {
    const std::string base = "base_model.model.model.layers." + std::to_string(p.layer) + "." + peft_module(p.target);
    PeftTensor a{base + ".lora_A.weight", p.rank, p.in_features, gradients ? p.grad_a : p.a};
    PeftTensor b{base + ".lora_B.weight", p.out_features, p.rank, gradients ? p.grad_b : p.b};
    // Back from the engine's interleaved RoPE rows to Hugging Face's halves.
    const int64_t heads = p.target == LoraTarget::Q ? config_copy_.n_heads
                          : p.target == LoraTarget::K ? config_copy_.n_kv_heads
                                                      : 0;
    if (heads > 0 && p.out_features == heads * config_copy_.head_dim) {
      std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(b.data.data()), b.data.size() * sizeof(float));
      auto permuted = permute_rows_gguf_to_hf(bytes, static_cast<size_t>(p.rank) * sizeof(float), heads, config_copy_.head_dim);
      std::memcpy(b.data.data(), permuted.data(), permuted.size());
    }
    out.push_back(std::move(a));
    out.push_back(std::move(b));
  }
  return out;
}

std::vector<std::string> LoraParams::target_modules() const {
  std::array<bool, kLoraTargets> used{};
  for (const auto& p : pairs_) used[static_cast<size_t>(p.target)] = true;
  std::vector<std::string> out;
  for (int t = 0; t < kLoraTargets; ++t)
    if (used[static_cast<size_t>(t)]) out.emplace_back(lora_target_name(static_cast<LoraTarget>(t)));
  return out;
}

}  // namespace officina
