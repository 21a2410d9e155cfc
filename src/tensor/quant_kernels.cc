// Highway row dequantizers of the GGML block types (dequantize_row). The
// block layouts are documented in dequantize.cc; the products of quantized
// weights are integer kernels (int_dot_kernels.cc).
//
// Vectors are capped at 16 float lanes so that one vector never spans two
// 16-value scale groups (Q6_K) and every block holds whole vectors.
// The dequantizers evaluate exactly the float expressions of the scalar
// reference (no FMA; this library is built with -ffp-contract=off), so they
// match it bit for bit.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tensor/quant_kernels.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include <cassert>

#include "tensor/blocks.h"
#include "tensor/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace officina::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace blocks;

using DF = hn::CappedTag<float, 16>;
using DI = hn::RebindToSigned<DF>;
using DU = hn::RebindToUnsigned<DF>;
using DU8 = hn::Rebind<uint8_t, DF>;
using DI8 = hn::Rebind<int8_t, DF>;

template <class Block>
const Block* block_at(const std::byte* base, int64_t b) {
  return reinterpret_cast<const Block*>(base + b * static_cast<int64_t>(sizeof(Block)));
}

// N bytes from p widened to u32 lanes.
HWY_INLINE hn::Vec<DU> LoadBytes(const uint8_t* p) { return hn::PromoteTo(DU(), hn::LoadU(DU8(), p)); }
HWY_INLINE hn::Vec<DF> ToFloat(hn::Vec<DU> v) { return hn::ConvertTo(DF(), hn::BitCast(DI(), v)); }

// The four 6-bit quants (minus 32) that share the bytes ql[l], ql[l+32],
// qh[l] of a Q6_K half-block, as floats: values l, l+32, l+64, l+96.
struct Q6Quads {
  hn::Vec<DF> q1, q2, q3, q4;
};
HWY_INLINE Q6Quads LoadQ6(const uint8_t* ql, const uint8_t* qh, int l) {
  const DU du;
  const auto low4 = hn::Set(du, 15u);
  const auto two = hn::Set(du, 3u);
  const auto offset = hn::Set(DF(), 32.0f);
  const auto a = LoadBytes(ql + l);
  const auto b = LoadBytes(ql + 32 + l);
  const auto h = LoadBytes(qh + l);
  const auto u1 = hn::Or(hn::And(a, low4), hn::ShiftLeft<4>(hn::And(h, two)));
  const auto u2 = hn::Or(hn::And(b, low4), hn::ShiftLeft<4>(hn::And(hn::ShiftRight<2>(h), two)));
  const auto u3 = hn::Or(hn::ShiftRight<4>(a), hn::ShiftLeft<4>(hn::And(hn::ShiftRight<4>(h), two)));
  const auto u4 = hn::Or(hn::ShiftRight<4>(b), hn::ShiftLeft<4>(hn::ShiftRight<6>(h)));
  return {hn::Sub(ToFloat(u1), offset), hn::Sub(ToFloat(u2), offset), hn::Sub(ToFloat(u3), offset),
          hn::Sub(ToFloat(u4), offset)};
}

// ---- dequantizers (bit-identical to dequantize.cc) ----

void DequantizeQ8_0(const std::byte* src, float* dst, int64_t n) {
  const DF d;
  const int N = static_cast<int>(hn::Lanes(d));
  for (int64_t b = 0; b < n / kQ8_0; ++b, dst += kQ8_0) {
    const auto* blk = block_at<BlockQ8_0>(src, b);
    const auto scale = hn::Set(d, half::load_half(blk->d));
    for (int i = 0; i < kQ8_0; i += N)
      hn::StoreU(hn::Mul(scale, hn::ConvertTo(d, hn::PromoteTo(DI(), hn::LoadU(DI8(), blk->qs + i)))), d, dst + i);
  }
}

void DequantizeQ4_0(const std::byte* src, float* dst, int64_t n) {
  const DF d;
  const DI di;
  const DU du;
  const int N = static_cast<int>(hn::Lanes(d));
  const auto eight = hn::Set(di, 8);
  for (int64_t b = 0; b < n / kQ4_0; ++b, dst += kQ4_0) {
    const auto* blk = block_at<BlockQ4_0>(src, b);
    const auto scale = hn::Set(d, half::load_half(blk->d));
    for (int i = 0; i < kQ4_0 / 2; i += N) {
      const auto q = LoadBytes(blk->qs + i);
      const auto lo = hn::Sub(hn::BitCast(di, hn::And(q, hn::Set(du, 15u))), eight);
      const auto hi = hn::Sub(hn::BitCast(di, hn::ShiftRight<4>(q)), eight);
      hn::StoreU(hn::Mul(scale, hn::ConvertTo(d, lo)), d, dst + i);
      hn::StoreU(hn::Mul(scale, hn::ConvertTo(d, hi)), d, dst + kQ4_0 / 2 + i);
    }
  }
}

void DequantizeQ4_K(const std::byte* src, float* dst, int64_t n) {
  const DF d;
  const DU du;
  const int N = static_cast<int>(hn::Lanes(d));
  for (int64_t b = 0; b < n / kSuper; ++b, dst += kSuper) {
    const auto* blk = block_at<BlockQ4_K>(src, b);
    const float dd = half::load_half(blk->d);
    const float dmin = half::load_half(blk->dmin);
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(blk->scales, sc, m);
    for (int c = 0; c < 4; ++c) {
      const auto d_lo = hn::Set(d, dd * static_cast<float>(sc[2 * c]));
      const auto m_lo = hn::Set(d, dmin * static_cast<float>(m[2 * c]));
      const auto d_hi = hn::Set(d, dd * static_cast<float>(sc[2 * c + 1]));
      const auto m_hi = hn::Set(d, dmin * static_cast<float>(m[2 * c + 1]));
      for (int l = 0; l < 32; l += N) {
        const auto q = LoadBytes(blk->qs + 32 * c + l);
        hn::StoreU(hn::Sub(hn::Mul(d_lo, ToFloat(hn::And(q, hn::Set(du, 15u)))), m_lo), d, dst + 64 * c + l);
        hn::StoreU(hn::Sub(hn::Mul(d_hi, ToFloat(hn::ShiftRight<4>(q))), m_hi), d, dst + 64 * c + 32 + l);
      }
    }
  }
}

void DequantizeQ6_K(const std::byte* src, float* dst, int64_t n) {
  const DF d;
  const int N = static_cast<int>(hn::Lanes(d));
  for (int64_t b = 0; b < n / kSuper; ++b, dst += kSuper) {
    const auto* blk = block_at<BlockQ6_K>(src, b);
    const float dd = half::load_half(blk->d);
    for (int h = 0; h < 2; ++h) {
      const int8_t* sc = blk->scales + 8 * h;
      float* y = dst + 128 * h;
      for (int l = 0; l < 32; l += N) {
        const int s = l / 16;
        const Q6Quads q = LoadQ6(blk->ql + 64 * h, blk->qh + 32 * h, l);
        hn::StoreU(hn::Mul(hn::Set(d, dd * static_cast<float>(sc[s])), q.q1), d, y + l);
        hn::StoreU(hn::Mul(hn::Set(d, dd * static_cast<float>(sc[s + 2])), q.q2), d, y + 32 + l);
        hn::StoreU(hn::Mul(hn::Set(d, dd * static_cast<float>(sc[s + 4])), q.q3), d, y + 64 + l);
        hn::StoreU(hn::Mul(hn::Set(d, dd * static_cast<float>(sc[s + 6])), q.q4), d, y + 96 + l);
      }
    }
  }
}

}  // namespace officina::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace officina {
HWY_EXPORT(DequantizeQ8_0);
HWY_EXPORT(DequantizeQ4_0);
HWY_EXPORT(DequantizeQ4_K);
HWY_EXPORT(DequantizeQ6_K);

namespace kernels {

void dequantize(DType type, const std::byte* src, float* dst, int64_t n) {
  switch (type) {
    case DType::F16: return f16_to_f32(reinterpret_cast<const uint16_t*>(src), dst, n);
    case DType::BF16: return bf16_to_f32(reinterpret_cast<const uint16_t*>(src), dst, n);
    case DType::Q8_0: return HWY_DYNAMIC_DISPATCH(DequantizeQ8_0)(src, dst, n);
    case DType::Q4_0: return HWY_DYNAMIC_DISPATCH(DequantizeQ4_0)(src, dst, n);
    case DType::Q4_K: return HWY_DYNAMIC_DISPATCH(DequantizeQ4_K)(src, dst, n);
    case DType::Q6_K: return HWY_DYNAMIC_DISPATCH(DequantizeQ6_K)(src, dst, n);
    case DType::F32: break;
  }
  assert(false && "kernels::dequantize: F32 needs no dequantization");
}
}  // namespace kernels
}  // namespace officina
#endif  // HWY_ONCE
