// Scalar references of ops.h, in double.
#include "tensor/ops_reference.h"

#include <cmath>

namespace officina {

namespace {

void rotate_reference(float& a, float& b, double angle) {
  const double c = std::cos(angle);
  const double s = std::sin(angle);
  const double x0 = a;
  const double x1 = b;
  a = static_cast<float>(x0 * c - x1 * s);
  b = static_cast<float>(x0 * s + x1 * c);
}

double rope_angle(int64_t pair, int64_t head_dim, int64_t pos, float theta) {
  return static_cast<double>(pos) *
         std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(pair) / static_cast<double>(head_dim));
}

}  // namespace

void rms_norm_reference(const float* x, const float* weight, float* out, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const double scale = 1.0 / std::sqrt(sum / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i] * scale * weight[i]);
}

void rope_interleaved_reference(float* x, int64_t head_dim, int64_t pos, float theta) {
  for (int64_t i = 0; i < head_dim / 2; ++i) rotate_reference(x[2 * i], x[2 * i + 1], rope_angle(i, head_dim, pos, theta));
}

void rope_half_reference(float* x, int64_t head_dim, int64_t pos, float theta) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) rotate_reference(x[i], x[i + half], rope_angle(i, head_dim, pos, theta));
}

void softmax_reference(float* x, int64_t n) {
  if (n <= 0) return;
  double max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::fmax(max, static_cast<double>(x[i]));
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - max);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::exp(static_cast<double>(x[i]) - max) / sum);
}

void swiglu_reference(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double g = gate[i];
    out[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

void axpy_reference(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<double>(y[i]) + static_cast<double>(a) * x[i]);
}

double dot_f32_reference(const float* a, const float* b, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

}  // namespace officina
