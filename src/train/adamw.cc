#include "train/adamw.h"

#include <cmath>

namespace officina {

std::vector<ParamTensor> lora_param_tensors(LoraParams& params) {
  std::vector<ParamTensor> out;
  for (size_t i = 0; i < params.pairs().size(); ++i) {
    TrainPair& p = params.pairs()[i];
    const std::string n = "pair." + std::to_string(i);
    out.push_back({n + ".a", {p.rank, p.in_features}, p.a, p.grad_a, true});
    out.push_back({n + ".b", {p.out_features, p.rank}, p.b, p.grad_b, true});
  }
  return out;
}

AdamW::AdamW(std::span<const ParamTensor> tensors, AdamWConfig config) : config_(config) {
  for (const auto& t : tensors) {
    moments_.emplace_back(t.value.size(), 0.0f);
    moments_.emplace_back(t.value.size(), 0.0f);
  }
}

AdamW::AdamW(LoraParams& params, AdamWConfig config) : AdamW(lora_param_tensors(params), config) {}

namespace {
void update(std::span<float> value, std::span<const float> grad, std::span<float> m, std::span<float> v,
            const AdamWConfig& c, double weight_decay, double lr, int64_t t) {
  const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(c.beta2, static_cast<double>(t));
  const float decay = static_cast<float>(1.0 - lr * weight_decay);
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float b1 = static_cast<float>(c.beta1), b2 = static_cast<float>(c.beta2), eps = static_cast<float>(c.eps);
  for (size_t i = 0; i < value.size(); ++i) {
    value[i] *= decay;
    m[i] = b1 * m[i] + (1.0f - b1) * grad[i];
    v[i] = b2 * v[i] + (1.0f - b2) * grad[i] * grad[i];
    const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
    value[i] -= step_size * m[i] / denom;
  }
}
}  // namespace

void AdamW::step(std::span<const ParamTensor> tensors, double lr, ThreadPool* pool) {
  ++step_;
  // Below this many values a tensor is not worth waking the threads for.
  constexpr int64_t kParallelMin = int64_t{1} << 16;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const ParamTensor& t = tensors[i];
    std::span<float> m = moments_[2 * i], v = moments_[2 * i + 1];
    const double wd = t.decay ? config_.weight_decay : 0.0;
    const int64_t n = static_cast<int64_t>(t.value.size());
    if (!pool || n < kParallelMin) {
      update(t.value, t.grad, m, v, config_, wd, lr, step_);
      continue;
    }
    pool->parallel_for(n, [&](int64_t a, int64_t b, int) {
      const size_t off = static_cast<size_t>(a), len = static_cast<size_t>(b - a);
      update(t.value.subspan(off, len), t.grad.subspan(off, len), m.subspan(off, len), v.subspan(off, len), config_,
             wd, lr, step_);
    });
  }
}

void AdamW::step(LoraParams& params, double lr) { step(lora_param_tensors(params), lr); }

double clip_grad_norm(std::span<const ParamTensor> tensors, double max_norm) {
  double sum = 0;
  for (const auto& t : tensors)
    for (float g : t.grad) sum += static_cast<double>(g) * g;
  const double norm = std::sqrt(sum);
  if (max_norm > 0 && norm > max_norm) {
    const float f = static_cast<float>(max_norm / (norm + 1e-6));
    for (const auto& t : tensors)
      for (float& g : t.grad) g *= f;
  }
  return norm;
}

double clip_grad_norm(LoraParams& params, double max_norm) { return clip_grad_norm(lora_param_tensors(params), max_norm); }

}  // namespace officina
