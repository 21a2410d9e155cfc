// Highway kernels for the GGML block types: fused dequantize-and-dot of one
// stored row with an F32 vector (decode path, n = 1) and row dequantizers
// (prefill path, where a weight row is dequantized once and reused for every
// x row). The block layouts are documented in dequantize.cc.
//
// Vectors are capped at 16 float lanes so that one vector never spans two
// 16-value scale groups (Q6_K) and every block holds whole vectors.
// The dequantizers evaluate exactly the float expressions of the scalar
// reference (no FMA; this library is built with -ffp-contract=off), so they
// match it bit for bit; the dots sum in a different order than the reference.
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

float DotQ8_0(const std::byte* w, const float* x, int64_t cols) {
  const DF d;
  const int N = static_cast<int>(hn::Lanes(d));
  auto total = hn::Zero(d);
  for (int64_t b = 0; b < cols / kQ8_0; ++b) {
    const auto* blk = block_at<BlockQ8_0>(w, b);
    const float* xb = x + b * kQ8_0;
    auto s0 = hn::Zero(d), s1 = hn::Zero(d);
    for (int i = 0; i < kQ8_0; i += 2 * N) {
      s0 = hn::MulAdd(hn::ConvertTo(d, hn::PromoteTo(DI(), hn::LoadU(DI8(), blk->qs + i))), hn::LoadU(d, xb + i), s0);
      s1 = hn::MulAdd(hn::ConvertTo(d, hn::PromoteTo(DI(), hn::LoadU(DI8(), blk->qs + i + N))), hn::LoadU(d, xb + i + N),
                      s1);
    }
    total = hn::MulAdd(hn::Set(d, half::load_half(blk->d)), hn::Add(s0, s1), total);
  }
  return hn::GetLane(hn::SumOfLanes(d, total));
}

float DotQ4_0(const std::byte* w, const float* x, int64_t cols) {
  const DF d;
  const DU du;
  const int N = static_cast<int>(hn::Lanes(d));
  const auto eight = hn::Set(d, 8.0f);
  const auto low4 = hn::Set(du, 15u);
  auto total = hn::Zero(d);
  for (int64_t b = 0; b < cols / kQ4_0; ++b) {
    const auto* blk = block_at<BlockQ4_0>(w, b);
    const float* xb = x + b * kQ4_0;
    auto s0 = hn::Zero(d), s1 = hn::Zero(d);
    for (int i = 0; i < kQ4_0 / 2; i += N) {
      const auto q = LoadBytes(blk->qs + i);
      const auto lo = hn::Sub(ToFloat(hn::And(q, low4)), eight);
      const auto hi = hn::Sub(ToFloat(hn::ShiftRight<4>(q)), eight);
      s0 = hn::MulAdd(lo, hn::LoadU(d, xb + i), s0);
      s1 = hn::MulAdd(hi, hn::LoadU(d, xb + kQ4_0 / 2 + i), s1);
    }
    total = hn::MulAdd(hn::Set(d, half::load_half(blk->d)), hn::Add(s0, s1), total);
  }
  return hn::GetLane(hn::SumOfLanes(d, total));
}

// Per sub-block j: sum((d*sc*q - dmin*m) * x) = d*sc*sum(q*x) - dmin*m*sum(x).
float DotQ4_K(const std::byte* w, const float* x, int64_t cols) {
  const DF d;
  const DU du;
  const int N = static_cast<int>(hn::Lanes(d));
  const auto low4 = hn::Set(du, 15u);
  auto total = hn::Zero(d);
  for (int64_t b = 0; b < cols / kSuper; ++b) {
    const auto* blk = block_at<BlockQ4_K>(w, b);
    const float dd = half::load_half(blk->d);
    const float dmin = half::load_half(blk->dmin);
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(blk->scales, sc, m);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = blk->qs + 32 * c;
      const float* xc = x + b * kSuper + 64 * c;
      auto qx_lo = hn::Zero(d), qx_hi = hn::Zero(d), x_lo = hn::Zero(d), x_hi = hn::Zero(d);
      for (int l = 0; l < 32; l += N) {
        const auto qv = LoadBytes(q + l);
        const auto xl = hn::LoadU(d, xc + l);
        const auto xh = hn::LoadU(d, xc + 32 + l);
        qx_lo = hn::MulAdd(ToFloat(hn::And(qv, low4)), xl, qx_lo);
        qx_hi = hn::MulAdd(ToFloat(hn::ShiftRight<4>(qv)), xh, qx_hi);
        x_lo = hn::Add(x_lo, xl);
        x_hi = hn::Add(x_hi, xh);
      }
      total = hn::MulAdd(hn::Set(d, dd * static_cast<float>(sc[2 * c])), qx_lo, total);
      total = hn::NegMulAdd(hn::Set(d, dmin * static_cast<float>(m[2 * c])), x_lo, total);
      total = hn::MulAdd(hn::Set(d, dd * static_cast<float>(sc[2 * c + 1])), qx_hi, total);
      total = hn::NegMulAdd(hn::Set(d, dmin * static_cast<float>(m[2 * c + 1])), x_hi, total);
    }
  }
  return hn::GetLane(hn::SumOfLanes(d, total));
}

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

float DotQ6_K(const std::byte* w, const float* x, int64_t cols) {
  const DF d;
  const int N = static_cast<int>(hn::Lanes(d));
  auto t1 = hn::Zero(d), t2 = hn::Zero(d), t3 = hn::Zero(d), t4 = hn::Zero(d);
  for (int64_t b = 0; b < cols / kSuper; ++b) {
    const auto* blk = block_at<BlockQ6_K>(w, b);
    const float dd = half::load_half(blk->d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = blk->ql + 64 * h;
      const uint8_t* qh = blk->qh + 32 * h;
      const int8_t* sc = blk->scales + 8 * h;
      const float* xh = x + b * kSuper + 128 * h;
      for (int l = 0; l < 32; l += N) {
        const int s = l / 16;
        const Q6Quads q = LoadQ6(ql, qh, l);
        t1 = hn::MulAdd(hn::Mul(q.q1, hn::LoadU(d, xh + l)), hn::Set(d, dd * static_cast<float>(sc[s])), t1);
        t2 = hn::MulAdd(hn::Mul(q.q2, hn::LoadU(d, xh + 32 + l)), hn::Set(d, dd * static_cast<float>(sc[s + 2])), t2);
        t3 = hn::MulAdd(hn::Mul(q.q3, hn::LoadU(d, xh + 64 + l)), hn::Set(d, dd * static_cast<float>(sc[s + 4])), t3);
        t4 = hn::MulAdd(hn::Mul(q.q4, hn::LoadU(d, xh + 96 + l)), hn::Set(d, dd * static_cast<float>(sc[s + 6])), t4);
      }
    }
  }
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(t1, t2), hn::Add(t3, t4))));
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
HWY_EXPORT(DotQ8_0);
HWY_EXPORT(DotQ4_0);
HWY_EXPORT(DotQ4_K);
HWY_EXPORT(DotQ6_K);
HWY_EXPORT(DequantizeQ8_0);
HWY_EXPORT(DequantizeQ4_0);
HWY_EXPORT(DequantizeQ4_K);
HWY_EXPORT(DequantizeQ6_K);

namespace kernels {
float dot_q8_0(const std::byte* w, const float* x, int64_t cols) { return HWY_DYNAMIC_DISPATCH(DotQ8_0)(w, x, cols); }
float dot_q4_0(const std::byte* w, const float* x, int64_t cols) { return HWY_DYNAMIC_DISPATCH(DotQ4_0)(w, x, cols); }
float dot_q4_k(const std::byte* w, const float* x, int64_t cols) { return HWY_DYNAMIC_DISPATCH(DotQ4_K)(w, x, cols); }
float dot_q6_k(const std::byte* w, const float* x, int64_t cols) { return HWY_DYNAMIC_DISPATCH(DotQ6_K)(w, x, cols); }

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
