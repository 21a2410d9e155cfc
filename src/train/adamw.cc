#include "train/adamw.h"

#include <cmath>

namespace officina {

AdamW::AdamW(const LoraParams& params, AdamWConfig config) : config_(config) {
  for (const auto& p : params.pairs()) {
    moments_.emplace_back(p.a.size(), 0.0f);
    moments_.emplace_back(p.a.size(), 0.0f);
    moments_.emplace_back(p.b.size(), 0.0f);
    moments_.emplace_back(p.b.size(), 0.0f);
  }
}

namespace {
void update(std::vector<float>& value, const std::vector<float>& grad, std::vector<float>& m, std::vector<float>& v,
            const AdamWConfig& c, double lr, int64_t t) {
  const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(c.beta2, static_cast<double>(t));
  const float decay = static_cast<float>(1.0 - lr * c.weight_decay);
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

void AdamW::step(LoraParams& params, double lr) {
  ++step_;
  auto& pairs = params.pairs();
  for (size_t i = 0; i < pairs.size(); ++i) {
    update(pairs[i].a, pairs[i].grad_a, moments_[4 * i], moments_[4 * i + 1], config_, lr, step_);
    update(pairs[i].b, pairs[i].grad_b, moments_[4 * i + 2], moments_[4 * i + 3], config_, lr, step_);
  }
}

double clip_grad_norm(LoraParams& params, double max_norm) {
  double sum = 0;
  for (const auto& p : params.pairs()) {
    for (float g : p.grad_a) sum += static_cast<double>(g) * g;
    for (float g : p.grad_b) sum += static_cast<double>(g) * g;
  }
  const double norm = std::sqrt(sum);
  if (max_norm > 0 && norm > max_norm) {
    const float f = static_cast<float>(max_norm / (norm + 1e-6));
    for (auto& p : params.pairs()) {
      for (float& g : p.grad_a) g *= f;
      for (float& g : p.grad_b) g *= f;
    }
  }
  return norm;
}

}  // namespace officina
