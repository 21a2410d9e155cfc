// Highway kernels for float rows: F32 / F16 / BF16 dot products, the F32
// tiles used by prefill, and f16/bf16 -> f32 row conversion.
// Compiled once per SIMD target (foreach_target); the functions at the end
// dispatch to the best target at run time.
//
// Summation order: vector lanes accumulate independently and are reduced at
// the end, then a scalar tail is added; so a result depends on the target's
// vector width (AVX2 vs AVX3 differ in the last bits) but never on threads or
// on how rows are grouped.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tensor/dot_kernels.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include <type_traits>

#include "tensor/half.h"
#include "tensor/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace officina::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Four accumulators hide the FMA latency for one long row.
float DotF32(const float* a, const float* b, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    acc0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), acc0);
    acc1 = hn::MulAdd(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N), acc1);
    acc2 = hn::MulAdd(hn::LoadU(d, a + i + 2 * N), hn::LoadU(d, b + i + 2 * N), acc2);
    acc3 = hn::MulAdd(hn::LoadU(d, a + i + 3 * N), hn::LoadU(d, b + i + 3 * N), acc3);
  }
  for (; i + N <= n; i += N) acc0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), acc0);
  const auto acc = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  float sum = hn::GetLane(hn::SumOfLanes(d, acc));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Prefill tiles: two (or one) weight rows against four x rows. Each output
// has one accumulator and the same vector/tail order in both tiles, so an
// output does not depend on which tile computed it. 2x4 needs 6 loads per 8
// FMAs and 8 independent chains (enough to hide the FMA latency).
void DotF32Tile2x4(const float* const w[2], const float* const x[4], int64_t n, float out[8]) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const float* w0 = w[0];
  const float* w1 = w[1];
  const float* x0 = x[0];
  const float* x1 = x[1];
  const float* x2 = x[2];
  const float* x3 = x[3];
  auto a00 = hn::Zero(d), a01 = hn::Zero(d), a02 = hn::Zero(d), a03 = hn::Zero(d);
  auto a10 = hn::Zero(d), a11 = hn::Zero(d), a12 = hn::Zero(d), a13 = hn::Zero(d);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v0 = hn::LoadU(d, w0 + i);
    const auto v1 = hn::LoadU(d, w1 + i);
    auto xv = hn::LoadU(d, x0 + i);
    a00 = hn::MulAdd(v0, xv, a00);
    a10 = hn::MulAdd(v1, xv, a10);
    xv = hn::LoadU(d, x1 + i);
    a01 = hn::MulAdd(v0, xv, a01);
    a11 = hn::MulAdd(v1, xv, a11);
    xv = hn::LoadU(d, x2 + i);
    a02 = hn::MulAdd(v0, xv, a02);
    a12 = hn::MulAdd(v1, xv, a12);
    xv = hn::LoadU(d, x3 + i);
    a03 = hn::MulAdd(v0, xv, a03);
    a13 = hn::MulAdd(v1, xv, a13);
  }
  float s[8] = {hn::GetLane(hn::SumOfLanes(d, a00)), hn::GetLane(hn::SumOfLanes(d, a01)),
                hn::GetLane(hn::SumOfLanes(d, a02)), hn::GetLane(hn::SumOfLanes(d, a03)),
                hn::GetLane(hn::SumOfLanes(d, a10)), hn::GetLane(hn::SumOfLanes(d, a11)),
                hn::GetLane(hn::SumOfLanes(d, a12)), hn::GetLane(hn::SumOfLanes(d, a13))};
  for (; i < n; ++i)
    for (int r = 0; r < 2; ++r)
      for (int j = 0; j < 4; ++j) s[4 * r + j] += w[r][i] * x[j][i];
  for (int k = 0; k < 8; ++k) out[k] = s[k];
}

// Four weight rows by four x rows: 16 accumulators, eight loads per sixteen
// multiply-adds. Each (row, x row) pair sums in the same order as in the
// 2x4 and 1x4 tiles, so a result does not depend on the tile it came from.
void DotF32Tile4x4(const float* const w[4], const float* const x[4], int64_t n, float out[16]) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  V acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[r][j] = hn::Zero(d);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    V v[4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) v[r] = hn::LoadU(d, w[r] + i);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const V xv = hn::LoadU(d, x[j] + i);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) acc[r][j] = hn::MulAdd(v[r], xv, acc[r][j]);
    }
  }
  float s[16];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j) s[4 * r + j] = hn::GetLane(hn::SumOfLanes(d, acc[r][j]));
  for (; i < n; ++i)
    for (int r = 0; r < 4; ++r)
      for (int j = 0; j < 4; ++j) s[4 * r + j] += w[r][i] * x[j][i];
  for (int k = 0; k < 16; ++k) out[k] = s[k];
}

void DotF32Tile1x4(const float* w, const float* const x[4], int64_t n, float out[4]) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const float* x0 = x[0];
  const float* x1 = x[1];
  const float* x2 = x[2];
  const float* x3 = x[3];
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(d, w + i);
    a0 = hn::MulAdd(v, hn::LoadU(d, x0 + i), a0);
    a1 = hn::MulAdd(v, hn::LoadU(d, x1 + i), a1);
    a2 = hn::MulAdd(v, hn::LoadU(d, x2 + i), a2);
    a3 = hn::MulAdd(v, hn::LoadU(d, x3 + i), a3);
  }
  float s[4] = {hn::GetLane(hn::SumOfLanes(d, a0)), hn::GetLane(hn::SumOfLanes(d, a1)),
                hn::GetLane(hn::SumOfLanes(d, a2)), hn::GetLane(hn::SumOfLanes(d, a3))};
  for (; i < n; ++i)
    for (int j = 0; j < 4; ++j) s[j] += w[i] * x[j][i];
  for (int j = 0; j < 4; ++j) out[j] = s[j];
}

// Widens f16 lanes exactly. Highway's emulated PromoteTo (x86 without F16C)
// maps inf/NaN to large finite values, so those targets decode the bits here.
template <class D, class VH>
HWY_INLINE hn::Vec<D> WidenHalf(D d, VH v) {
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX2
  const hn::RebindToUnsigned<D> du;
  const hn::RebindToSigned<D> di;
  const hn::Rebind<uint16_t, D> du16;
  const auto bits = hn::PromoteTo(du, hn::BitCast(du16, v));
  const auto sign = hn::ShiftLeft<16>(hn::And(bits, hn::Set(du, 0x8000u)));
  const auto exponent = hn::And(hn::ShiftRight<10>(bits), hn::Set(du, 0x1Fu));
  const auto mantissa = hn::And(bits, hn::Set(du, 0x3FFu));
  const auto normal = hn::Or(hn::ShiftLeft<23>(hn::Add(exponent, hn::Set(du, 112u))), hn::ShiftLeft<13>(mantissa));
  const auto quiet = hn::IfThenElseZero(hn::Ne(mantissa, hn::Zero(du)), hn::Set(du, 0x400000u));
  const auto special = hn::Or(hn::Or(hn::Set(du, 0x7F800000u), hn::ShiftLeft<13>(mantissa)), quiet);
  const auto subnormal =
      hn::BitCast(du, hn::Mul(hn::ConvertTo(d, hn::BitCast(di, mantissa)), hn::Set(d, 0x1p-24f)));
  auto magnitude = hn::IfThenElse(hn::Eq(exponent, hn::Zero(du)), subnormal, normal);
  magnitude = hn::IfThenElse(hn::Eq(exponent, hn::Set(du, 0x1Fu)), special, magnitude);
  return hn::BitCast(d, hn::Or(sign, magnitude));
#else
  return hn::PromoteTo(d, v);
#endif
}

template <class D, class VH>
HWY_INLINE hn::Vec<D> Widen(D d, VH v) {
  if constexpr (std::is_same_v<hn::TFromV<VH>, hwy::float16_t>) {
    return WidenHalf(d, v);
  } else {
    return hn::PromoteTo(d, v);
  }
}

// F16 and BF16 rows: load half-width lanes and widen to f32. The two
// accumulators halve the dependency chain; widening is the bottleneck.
template <class T, class Scalar>
float DotHalf(const uint16_t* w16, const float* x, int64_t n, Scalar to_float) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<T, decltype(d)> dh;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const T* w = reinterpret_cast<const T*>(w16);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    a0 = hn::MulAdd(Widen(d, hn::LoadU(dh, w + i)), hn::LoadU(d, x + i), a0);
    a1 = hn::MulAdd(Widen(d, hn::LoadU(dh, w + i + N)), hn::LoadU(d, x + i + N), a1);
  }
  for (; i + N <= n; i += N) a0 = hn::MulAdd(Widen(d, hn::LoadU(dh, w + i)), hn::LoadU(d, x + i), a0);
  float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
  for (; i < n; ++i) sum += to_float(w16[i]) * x[i];
  return sum;
}

float DotF16(const uint16_t* w, const float* x, int64_t n) {
  return DotHalf<hwy::float16_t>(w, x, n, half::half_to_float);
}
float DotBF16(const uint16_t* w, const float* x, int64_t n) {
  return DotHalf<hwy::bfloat16_t>(w, x, n, half::bf16_to_float);
}

template <class T, class Scalar>
void HalfToF32(const uint16_t* src16, float* dst, int64_t n, Scalar to_float) {
  const hn::ScalableTag<float> d;
  const hn::Rebind<T, decltype(d)> dh;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const T* src = reinterpret_cast<const T*>(src16);
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(Widen(d, hn::LoadU(dh, src + i)), d, dst + i);
  for (; i < n; ++i) dst[i] = to_float(src16[i]);
}

void F16ToF32(const uint16_t* src, float* dst, int64_t n) {
  HalfToF32<hwy::float16_t>(src, dst, n, half::half_to_float);
}
void BF16ToF32(const uint16_t* src, float* dst, int64_t n) {
  HalfToF32<hwy::bfloat16_t>(src, dst, n, half::bf16_to_float);
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace officina::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace officina {
HWY_EXPORT(DotF32);
HWY_EXPORT(DotF32Tile2x4);
HWY_EXPORT(DotF32Tile4x4);
HWY_EXPORT(DotF32Tile1x4);
HWY_EXPORT(DotF16);
HWY_EXPORT(DotBF16);
HWY_EXPORT(F16ToF32);
HWY_EXPORT(BF16ToF32);
HWY_EXPORT(TargetName);

namespace kernels {
float dot_f32(const float* a, const float* b, int64_t n) { return HWY_DYNAMIC_DISPATCH(DotF32)(a, b, n); }
void dot_f32_tile_2x4(const float* const w[2], const float* const x[4], int64_t n, float out[8]) {
  HWY_DYNAMIC_DISPATCH(DotF32Tile2x4)(w, x, n, out);
}
void dot_f32_tile_4x4(const float* const w[4], const float* const x[4], int64_t n, float out[16]) {
  HWY_DYNAMIC_DISPATCH(DotF32Tile4x4)(w, x, n, out);
}
void dot_f32_tile_1x4(const float* w, const float* const x[4], int64_t n, float out[4]) {
  HWY_DYNAMIC_DISPATCH(DotF32Tile1x4)(w, x, n, out);
}
float dot_f16(const uint16_t* w, const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(DotF16)(w, x, n); }
float dot_bf16(const uint16_t* w, const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(DotBF16)(w, x, n); }
void f16_to_f32(const uint16_t* src, float* dst, int64_t n) { HWY_DYNAMIC_DISPATCH(F16ToF32)(src, dst, n); }
void bf16_to_f32(const uint16_t* src, float* dst, int64_t n) { HWY_DYNAMIC_DISPATCH(BF16ToF32)(src, dst, n); }
const char* target_name() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }
}  // namespace kernels
}  // namespace officina
#endif  // HWY_ONCE
