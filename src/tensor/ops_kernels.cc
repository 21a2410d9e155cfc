// Highway kernels for the element-wise ops of ops.cc: axpy, the sum of
// squares and the scaling of rms_norm, the pieces of softmax, swiglu and the
// rounding to f16.
// Compiled once per SIMD target; dispatched at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tensor/ops_kernels.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/half.h"
#include "tensor/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace officina::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Softmax inputs below -kExpLimit (after subtracting the max) give 0: exp of
// them is below the smallest normal float, and clamping keeps -inf (masked
// positions) away from Highway's Exp, whose range reduction needs finite input.
constexpr float kExpLimit = 87.0f;

void Axpy(float a, const float* x, float* y, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto va = hn::Set(d, a);
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::MulAdd(va, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

float SumSquares(const float* x, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto a0 = hn::Zero(d), a1 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto v0 = hn::LoadU(d, x + i);
    const auto v1 = hn::LoadU(d, x + i + N);
    a0 = hn::MulAdd(v0, v0, a0);
    a1 = hn::MulAdd(v1, v1, a1);
  }
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(d, x + i);
    a0 = hn::MulAdd(v, v, a0);
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
  for (; i < n; ++i) sum += x[i] * x[i];
  return sum;
}

void ScaleMul(const float* x, float scale, const float* weight, float* out, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto vs = hn::Set(d, scale);
  int64_t i = 0;
  for (; i + N <= n; i += N)
    hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(d, x + i), vs), hn::LoadU(d, weight + i)), d, out + i);
  for (; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

float MaxValue(const float* x, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  float best = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  if (n >= N) {
    auto m = hn::LoadU(d, x);
    for (i = N; i + N <= n; i += N) m = hn::Max(m, hn::LoadU(d, x + i));
    best = hn::GetLane(hn::MaxOfLanes(d, m));
  }
  for (; i < n; ++i) best = std::max(best, x[i]);
  return best;
}

// x[i] = exp(x[i] - max); values below -kExpLimit after the shift (masked
// positions hold -inf) become exactly 0.
float ExpShiftedSum(float* x, float max, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto vmax = hn::Set(d, max);
  const auto lower = hn::Set(d, -kExpLimit);
  auto sum = hn::Zero(d);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto t = hn::Sub(hn::LoadU(d, x + i), vmax);
    const auto e = hn::IfThenZeroElse(hn::Lt(t, lower), hn::Exp(d, hn::Max(t, lower)));
    hn::StoreU(e, d, x + i);
    sum = hn::Add(sum, e);
  }
  float total = hn::GetLane(hn::SumOfLanes(d, sum));
  for (; i < n; ++i) {
    const float t = x[i] - max;
    x[i] = t < -kExpLimit ? 0.0f : std::exp(t);
    total += x[i];
  }
  return total;
}

void Scale(float* x, float s, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto vs = hn::Set(d, s);
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vs), d, x + i);
  for (; i < n; ++i) x[i] *= s;
}

// silu(g) * u = g * sigmoid(g) * u. sigmoid comes from e = exp(-|g|), which
// never overflows: 1 / (1 + e) for g >= 0, e / (1 + e) for g < 0; so huge
// gates give exactly 0 or g * u.
void Swiglu(const float* gate, const float* up, float* out, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto one = hn::Set(d, 1.0f);
  const auto zero = hn::Zero(d);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto g = hn::LoadU(d, gate + i);
    const auto e = hn::Exp(d, hn::Neg(hn::Abs(g)));
    const auto r = hn::Div(one, hn::Add(one, e));
    const auto sigmoid = hn::IfThenElse(hn::Lt(g, zero), hn::Mul(e, r), r);
    hn::StoreU(hn::Mul(hn::Mul(g, sigmoid), hn::LoadU(d, up + i)), d, out + i);
  }
  for (; i < n; ++i) {
    const float g = gate[i];
    const float e = std::exp(-std::fabs(g));
    const float r = 1.0f / (1.0f + e);
    const float sigmoid = g < 0.0f ? e * r : r;
    out[i] = (g * sigmoid) * up[i];
  }
}

// x[i] = x[i] rounded to binary16 and back. F16C (AVX2 and up) converts
// exactly like half.h; without it Highway emulates the conversion with
// different rounding, so other targets use half.h.
void RoundToF16(float* x, int64_t n) {
  int64_t i = 0;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  const hn::ScalableTag<float> d;
  const hn::Rebind<hwy::float16_t, decltype(d)> dh;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  for (; i + N <= n; i += N) hn::StoreU(hn::PromoteTo(d, hn::DemoteTo(dh, hn::LoadU(d, x + i))), d, x + i);
#endif
  for (; i < n; ++i) x[i] = half::half_to_float(half::float_to_half(x[i]));
}

}  // namespace officina::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace officina {
HWY_EXPORT(Axpy);
HWY_EXPORT(SumSquares);
HWY_EXPORT(ScaleMul);
HWY_EXPORT(MaxValue);
HWY_EXPORT(ExpShiftedSum);
HWY_EXPORT(Scale);
HWY_EXPORT(Swiglu);
HWY_EXPORT(RoundToF16);

namespace kernels {
void axpy(float a, const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(Axpy)(a, x, y, n); }
float sum_squares(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(SumSquares)(x, n); }
void scale_mul(const float* x, float scale, const float* weight, float* out, int64_t n) {
  HWY_DYNAMIC_DISPATCH(ScaleMul)(x, scale, weight, out, n);
}
float max_value(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(MaxValue)(x, n); }
float exp_shifted_sum(float* x, float max, int64_t n) { return HWY_DYNAMIC_DISPATCH(ExpShiftedSum)(x, max, n); }
void scale(float* x, float s, int64_t n) { HWY_DYNAMIC_DISPATCH(Scale)(x, s, n); }
void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  HWY_DYNAMIC_DISPATCH(Swiglu)(gate, up, out, n);
}
void round_to_f16(float* x, int64_t n) { HWY_DYNAMIC_DISPATCH(RoundToF16)(x, n); }
}  // namespace kernels
}  // namespace officina
#endif  // HWY_ONCE
