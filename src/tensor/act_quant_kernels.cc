// Highway kernels that quantize F32 activation rows to the Q8 and Q8K formats
// (quantized_activations.h). They evaluate the scalar reference's float
// expressions (max |x| is exact in any order; the rest is per element), and
// x86's conversion rounds to nearest even like the reference's nearbyint, so
// the bytes equal the reference's on every target. The scalar target uses the
// reference itself: Highway's emulated NearestInt rounds x + 0.5, which is
// not nearest-even for every input.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tensor/act_quant_kernels.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include <cstring>

#include "tensor/half.h"
#include "tensor/kernels.h"
#include "tensor/quantized_activations.h"

HWY_BEFORE_NAMESPACE();
namespace officina::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR

// At most 16 floats per vector, so a vector never spans two Q8K groups.
using DF = hn::CappedTag<float, 16>;
using DI = hn::RebindToSigned<DF>;
using DI8 = hn::Rebind<int8_t, DF>;

HWY_INLINE float MaxAbs(const float* x, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto m = hn::Zero(d);
  for (int64_t i = 0; i < n; i += N) m = hn::Max(m, hn::Abs(hn::LoadU(d, x + i)));
  return hn::GetLane(hn::MaxOfLanes(d, m));
}

// q = clamp(nearest-even(x * scale), lo, hi) as int8, for n values.
HWY_INLINE void Quantize(const float* x, float scale, int lo, int hi, int8_t* q, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto s = hn::Set(d, scale);
  const auto vlo = hn::Set(DI(), lo);
  const auto vhi = hn::Set(DI(), hi);
  for (int64_t i = 0; i < n; i += N) {
    const auto qi = hn::Min(hn::Max(hn::NearestInt(hn::Mul(hn::LoadU(d, x + i), s)), vlo), vhi);
    hn::StoreU(hn::DemoteTo(DI8(), qi), DI8(), q + i);
  }
}

void QuantizeActQ8(const float* x, int64_t cols, int8_t* qs, float* d) {
  for (int64_t b = 0; b < cols / kActQ8Block; ++b, x += kActQ8Block, qs += kActQ8Block) {
    const float amax = MaxAbs(x, kActQ8Block);
    d[b] = half::half_to_float(half::float_to_half(amax / 127.0f));
    Quantize(x, amax != 0.0f ? 127.0f / amax : 0.0f, -127, 127, qs, kActQ8Block);
  }
}

void QuantizeActQ8K(const float* x, int64_t cols, int8_t* qs, float* d, int16_t* sums) {
  const DF df;
  const DI di;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t b = 0; b < cols / kActQ8KBlock; ++b, x += kActQ8KBlock, qs += kActQ8KBlock) {
    int16_t* s = sums + b * (kActQ8KBlock / kActQ8KGroup);
    const float amax = MaxAbs(x, kActQ8KBlock);
    if (amax == 0.0f) {
      d[b] = 0.0f;
      std::memset(qs, 0, kActQ8KBlock);
      std::memset(s, 0, sizeof(int16_t) * (kActQ8KBlock / kActQ8KGroup));
      continue;
    }
    // The first value of largest magnitude, as the reference's strict > scan.
    float max = amax;
    const auto target = hn::Set(df, amax);
    for (int64_t i = 0; i < kActQ8KBlock; i += N) {
      const auto v = hn::LoadU(df, x + i);
      const intptr_t at = hn::FindFirstTrue(df, hn::Eq(hn::Abs(v), target));
      if (at >= 0) {
        max = x[i + at];
        break;
      }
    }
    const float iscale = -127.0f / max;
    Quantize(x, iscale, -128, 127, qs, kActQ8KBlock);
    const hn::Rebind<int8_t, DI> d8;
    for (int g = 0; g < kActQ8KBlock / kActQ8KGroup; ++g) {
      auto acc = hn::Zero(di);
      for (int64_t i = 0; i < kActQ8KGroup; i += N) acc = hn::Add(acc, hn::PromoteTo(di, hn::LoadU(d8, qs + g * kActQ8KGroup + i)));
      s[g] = static_cast<int16_t>(hn::GetLane(hn::SumOfLanes(di, acc)));
    }
    d[b] = 1.0f / iscale;
  }
}

#else  // HWY_SCALAR

void QuantizeActQ8(const float* x, int64_t cols, int8_t* qs, float* d) { quantize_act_q8_reference(x, cols, qs, d); }
void QuantizeActQ8K(const float* x, int64_t cols, int8_t* qs, float* d, int16_t* sums) {
  quantize_act_q8k_reference(x, cols, qs, d, sums);
}

#endif

}  // namespace officina::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace officina {
HWY_EXPORT(QuantizeActQ8);
HWY_EXPORT(QuantizeActQ8K);

namespace kernels {
void quantize_act_q8(const float* x, int64_t cols, int8_t* qs, float* d) {
  HWY_DYNAMIC_DISPATCH(QuantizeActQ8)(x, cols, qs, d);
}
void quantize_act_q8k(const float* x, int64_t cols, int8_t* qs, float* d, int16_t* sums) {
  HWY_DYNAMIC_DISPATCH(QuantizeActQ8K)(x, cols, qs, d, sums);
}
}  // namespace kernels
}  // namespace officina
#endif  // HWY_ONCE
