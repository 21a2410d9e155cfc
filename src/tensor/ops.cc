// Llama-block ops on F32 rows. The element-wise loops run in the Highway
// kernels of ops_kernels.cc; this file holds the scalar glue and RoPE.
#include "tensor/ops.h"

#include <cassert>
#include <cmath>
#include <vector>

#include "tensor/kernels.h"

namespace officina {

namespace {

// cos/sin of pos * theta^(-2i/d) for the pairs i of one head. Computed in
// double (pos * freq loses digits in float at long positions) and kept for
// the last key, since a forward pass rotates all heads of a token in a row.
struct RopeAngles {
  int64_t head_dim = -1;
  int64_t pos = -1;
  float theta = 0.0f;
  std::vector<float> cos;
  std::vector<float> sin;
};

const RopeAngles& rope_angles(int64_t head_dim, int64_t pos, float theta) {
  thread_local RopeAngles cache;
  if (cache.head_dim == head_dim && cache.pos == pos && cache.theta == theta) return cache;
  const int64_t pairs = head_dim / 2;
  cache.cos.resize(static_cast<size_t>(pairs));
  cache.sin.resize(static_cast<size_t>(pairs));
  for (int64_t i = 0; i < pairs; ++i) {
    const double freq = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
    const double angle = static_cast<double>(pos) * freq;
    cache.cos[static_cast<size_t>(i)] = static_cast<float>(std::cos(angle));
    cache.sin[static_cast<size_t>(i)] = static_cast<float>(std::sin(angle));
  }
  cache.head_dim = head_dim;
  cache.pos = pos;
  cache.theta = theta;
  return cache;
}

// Both layouts rotate pair i = (x[a], x[b]) by the same angle and the same
// float expressions, so they agree exactly under the pair permutation.
inline void rotate(float& a, float& b, float c, float s) {
  const float x0 = a;
  const float x1 = b;
  a = x0 * c - x1 * s;
  b = x0 * s + x1 * c;
}

}  // namespace

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  assert(n > 0);
  const float mean_square = kernels::sum_squares(x, n) / static_cast<float>(n);
  const float scale = 1.0f / std::sqrt(mean_square + eps);
  kernels::scale_mul(x, scale, weight, out, n);
}

void rope_interleaved(float* x, int64_t head_dim, int64_t pos, float theta) {
  assert(head_dim % 2 == 0);
  const RopeAngles& angles = rope_angles(head_dim, pos, theta);
  for (int64_t i = 0; i < head_dim / 2; ++i)
    rotate(x[2 * i], x[2 * i + 1], angles.cos[static_cast<size_t>(i)], angles.sin[static_cast<size_t>(i)]);
}

void rope_half(float* x, int64_t head_dim, int64_t pos, float theta) {
  assert(head_dim % 2 == 0);
  const RopeAngles& angles = rope_angles(head_dim, pos, theta);
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i)
    rotate(x[i], x[i + half], angles.cos[static_cast<size_t>(i)], angles.sin[static_cast<size_t>(i)]);
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float max = kernels::max_value(x, n);
  const float sum = kernels::exp_shifted_sum(x, max, n);
  kernels::scale(x, 1.0f / sum, n);
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) { kernels::swiglu(gate, up, out, n); }

void axpy(float a, const float* x, float* y, int64_t n) { kernels::axpy(a, x, y, n); }

float dot_f32(const float* a, const float* b, int64_t n) { return kernels::dot_f32(a, b, n); }

void round_to_fp16(float* x, int64_t n) { kernels::round_to_f16(x, n); }

const char* simd_target_name() { return kernels::target_name(); }

}  // namespace officina
