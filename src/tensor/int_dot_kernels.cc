// Highway kernels of the integer dot products (int_dot.h): one stored weight
// row against one or four quantized activation rows, so that prefill decodes
// each weight block once for four x rows.
//
// The unit of work is 32 values: one 32-byte vector (AVX2, AVX3, AVX3_DL) or
// two 16-byte ones (SSE4, SSSE3). Weight quants are decoded to bytes in
// value order, and the core step multiplies unsigned weight bytes with
// signed activation bytes, summing each group of four adjacent products into
// an int32 lane (so a lane never mixes two sub-blocks):
//   AVX3_DL  vpdpbusd (AVX-512 VNNI; Highway 1.0.3 has no op for it, so it is
//            written as inline asm, EVEX-encoded): Q8_0 and Q4_0 go to the
//            register tiles below (TileVnni), K-quants use pmaddubsw too
//   AVX3, AVX2, SSE4  pmaddubsw + pmaddwd (x86 intrinsics on the raw vectors)
//   SSSE3    the portable form: widen to int16 (even / odd bytes) and
//            ReorderWidenMulAccumulate, which is pmaddwd on x86 (pairs of
//            adjacent lanes); kept on this target so the tests cover it
//   scalar   the reference code (int_dot_reference.cc)
// Signed weights (Q8_0, Q4_0 after its offset) use |w| and sign(w) * x,
// except in TileVnni, which makes them unsigned instead.
// Products fit: |w| <= 128, |x| <= 127, so a pmaddubsw pair sum is at most
// 32512; K-quant weights are unsigned (Q4_K 0..15, Q6_K 0..63) and their
// offsets (Q4_K mins, Q6_K's 32) are applied with the activation sums.
// Sub-block scales (Q4_K 6-bit, Q6_K int8) multiply the int16 pair sums
// (pmaddwd with the scale instead of ones), so a super-block sums exactly in
// int32 and is reduced once.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL  // AVX3_DL (Ice Lake, Zen 4 and later) is opt-in in Highway 1.0.3
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tensor/int_dot_kernels.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/int_dot.h"
#include "tensor/kernels.h"

HWY_BEFORE_NAMESPACE();
namespace officina::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace blocks;

#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128

using DB = hn::CappedTag<uint8_t, 32>;
using DS = hn::RebindToSigned<DB>;
using DU16 = hn::Repartition<uint16_t, DB>;
using D16 = hn::Repartition<int16_t, DB>;
using D32 = hn::Repartition<int32_t, DB>;
using DF = hn::Repartition<float, DB>;
using VB = hn::Vec<DB>;
using VS = hn::Vec<DS>;
using V16 = hn::Vec<D16>;
using V32 = hn::Vec<D32>;
using VF = hn::Vec<DF>;

constexpr int kBytes = static_cast<int>(hn::MaxLanes(DB()));
constexpr int kParts = 32 / kBytes;  // vectors per 32 values
static_assert(kBytes == (HWY_TARGET <= HWY_AVX2 ? 32 : 16));

// 32 values in value order.
struct Unsigned32 {
  VB v[kParts];
};
struct Signed32 {
  VS v[kParts];
};
// The int16 multipliers of the pair sums of 32 values: the first 16 values
// get lo, the last 16 hi.
struct Scale32 {
  V16 v[kParts];
};

HWY_INLINE Signed32 LoadSigned(const int8_t* p) {
  Signed32 s;
  for (int k = 0; k < kParts; ++k) s.v[k] = hn::LoadU(DS(), p + k * kBytes);
  return s;
}

HWY_INLINE Scale32 MakeScale(int lo, int hi) {
  const D16 d16;
  Scale32 s;
  if constexpr (kParts == 1) {
    const hn::Half<D16> h16;
    s.v[0] = hn::Combine(d16, hn::Set(h16, static_cast<int16_t>(hi)), hn::Set(h16, static_cast<int16_t>(lo)));
  } else {
    s.v[0] = hn::Set(d16, static_cast<int16_t>(lo));
    s.v[1] = hn::Set(d16, static_cast<int16_t>(hi));
  }
  return s;
}

HWY_INLINE Scale32 SameScale(int scale) {
  Scale32 s;
  for (int k = 0; k < kParts; ++k) s.v[k] = hn::Set(D16(), static_cast<int16_t>(scale));
  return s;
}

#if HWY_TARGET == HWY_SSSE3
// Portable int8 products: the even and odd bytes widened to int16 lanes, so
// that int16 lane j holds byte 2j (even) or 2j+1 (odd) of its pair.
HWY_INLINE V32 WidenedProducts(V32 acc, VB a, VS b) {
  const D16 d16;
  const DU16 du16;
  const D32 d32;
  const V16 a_even = hn::BitCast(d16, hn::And(hn::BitCast(du16, a), hn::Set(du16, 0x00FF)));
  const V16 a_odd = hn::BitCast(d16, hn::ShiftRight<8>(hn::BitCast(du16, a)));
  const V16 b_even = hn::ShiftRight<8>(hn::ShiftLeft<8>(hn::BitCast(d16, b)));
  const V16 b_odd = hn::ShiftRight<8>(hn::BitCast(d16, b));
  V32 unused = hn::Zero(d32);
  acc = hn::ReorderWidenMulAccumulate(d32, a_even, b_even, acc, unused);
  acc = hn::ReorderWidenMulAccumulate(d32, a_odd, b_odd, acc, unused);
  return hn::Add(acc, unused);
}
#endif

// acc + the sums of a[4i..4i+3] * b[4i..4i+3] (a unsigned, b signed) in lane i.
// (Not used on AVX3_DL: Q8_0 and Q4_0 take TileVnni there.)
HWY_INLINE V32 DotAcc(V32 acc, VB a, VS b) {
#if HWY_TARGET == HWY_SSSE3
  return WidenedProducts(acc, a, b);
#elif HWY_TARGET <= HWY_AVX2
  return hn::Add(acc, V32{_mm256_madd_epi16(_mm256_maddubs_epi16(a.raw, b.raw), _mm256_set1_epi16(1))});
#else
  return hn::Add(acc, V32{_mm_madd_epi16(_mm_maddubs_epi16(a.raw, b.raw), _mm_set1_epi16(1))});
#endif
}

// acc + scale * (the sums of four products), scale from a Scale32 vector
// (equal in the two int16 lanes of each int32 lane).
HWY_INLINE V32 DotScaledAcc(V32 acc, VB a, VS b, V16 scale) {
#if HWY_TARGET == HWY_SSSE3
  const D32 d32;
  const V32 sums = WidenedProducts(hn::Zero(d32), a, b);
  return hn::Add(acc, hn::Mul(sums, hn::ShiftRight<16>(hn::BitCast(d32, scale))));
#elif HWY_TARGET <= HWY_AVX2
  return hn::Add(acc, V32{_mm256_madd_epi16(_mm256_maddubs_epi16(a.raw, b.raw), scale.raw)});
#else
  return hn::Add(acc, V32{_mm_madd_epi16(_mm_maddubs_epi16(a.raw, b.raw), scale.raw)});
#endif
}

// x * sign(w), lane by lane (any value where w == 0).
HWY_INLINE VS ApplySign(VS x, VS w) {
#if HWY_TARGET == HWY_SSSE3
  // Not IfNegativeThenElse: Highway 1.0.3 implements it for int8 with an
  // MSB-only mask, which SSSE3's and/andnot select does not honour.
  return hn::IfThenElse(hn::Lt(w, hn::Zero(DS())), hn::Neg(x), x);
#elif HWY_TARGET <= HWY_AVX2
  return VS{_mm256_sign_epi8(x.raw, w.raw)};
#else
  return VS{_mm_sign_epi8(x.raw, w.raw)};
#endif
}

HWY_INLINE float LoadHalf(const uint8_t* p) {
#if HWY_TARGET <= HWY_AVX2
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);  // F16C; equal to half::load_half
#else
  return half::load_half(p);
#endif
}

HWY_INLINE VB LowNibbles(VB v) { return hn::And(v, hn::Set(DB(), 0x0F)); }
HWY_INLINE VB HighNibbles(VB v) {
  return hn::And(hn::BitCast(DB(), hn::ShiftRight<4>(hn::BitCast(DU16(), v))), hn::Set(DB(), 0x0F));
}

// The 32 nibbles of 16 bytes: low nibbles are values 0..15, high 16..31.
HWY_INLINE Unsigned32 Nibbles(const uint8_t* q) {
  Unsigned32 u;
  if constexpr (kParts == 1) {
    const hn::Half<DB> dh;
    const auto v = hn::LoadU(dh, q);
    const auto hi = hn::BitCast(dh, hn::ShiftRight<4>(hn::BitCast(hn::Repartition<uint16_t, decltype(dh)>(), v)));
    u.v[0] = hn::And(hn::Combine(DB(), hi, v), hn::Set(DB(), 0x0F));
  } else {
    const VB v = hn::LoadU(DB(), q);
    u.v[0] = LowNibbles(v);
    u.v[1] = HighNibbles(v);
  }
  return u;
}

// ---- Q8_0 and Q4_0: blocks of 32, float accumulation per block ----

struct DecodeQ8_0 {
  static constexpr size_t kBlockBytes = sizeof(BlockQ8_0);
  HWY_INLINE Signed32 operator()(const uint8_t* blk, float* d) const {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(blk);
    *d = LoadHalf(b->d);
    return LoadSigned(b->qs);
  }
};

struct DecodeQ4_0 {
  static constexpr size_t kBlockBytes = sizeof(BlockQ4_0);
  HWY_INLINE Signed32 operator()(const uint8_t* blk, float* d) const {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(blk);
    *d = LoadHalf(b->d);
    const Unsigned32 n = Nibbles(b->qs);
    Signed32 s;
    for (int k = 0; k < kParts; ++k) s.v[k] = hn::Sub(hn::BitCast(DS(), n.v[k]), hn::Set(DS(), 8));
    return s;
  }
};

// One block of a Q8_0 / Q4_0 row against C x rows, accumulated into acc[c].
template <int C, class Decode>
HWY_INLINE void Block32(const uint8_t* blk, const ActRow* x, int64_t b, hn::Vec<DF>* acc) {
  const DF df;
  const D32 d32;
  float dw;
  const Signed32 wq = Decode()(blk, &dw);
  Unsigned32 a;
  for (int k = 0; k < kParts; ++k) a.v[k] = hn::BitCast(DB(), hn::Abs(wq.v[k]));
  for (int c = 0; c < C; ++c) {
    const int8_t* xq = x[c].qs + b * 32;
    V32 p = hn::Zero(d32);
    for (int k = 0; k < kParts; ++k) p = DotAcc(p, a.v[k], ApplySign(hn::LoadU(DS(), xq + k * kBytes), wq.v[k]));
    acc[c] = hn::MulAdd(hn::ConvertTo(df, p), hn::Set(df, dw * x[c].d[b]), acc[c]);
  }
}

// Even and odd blocks go to two accumulators per x row, so that one row is
// not bound by the latency of a single chain of multiply-adds.
template <int C, class Decode>
HWY_INLINE void TileBlocks32(const std::byte* w, const ActRow* x, int64_t cols, float* out) {
  const DF df;
  VF even[C], odd[C];
  for (int c = 0; c < C; ++c) even[c] = odd[c] = hn::Zero(df);
  const auto* row = reinterpret_cast<const uint8_t*>(w);
  const int64_t blocks = cols / 32;
  int64_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    Block32<C, Decode>(row + b * Decode::kBlockBytes, x, b, even);
    Block32<C, Decode>(row + (b + 1) * Decode::kBlockBytes, x, b + 1, odd);
  }
  if (b < blocks) Block32<C, Decode>(row + b * Decode::kBlockBytes, x, b, even);
  for (int c = 0; c < C; ++c) out[c] = hn::GetLane(hn::SumOfLanes(df, hn::Add(even[c], odd[c])));
}

// ---- Q4_K: super-blocks of 256, eight sub-blocks of 32 with 6-bit scales ----

// sum over the 8 sub-blocks j of m[j] * (xsums[2j] + xsums[2j+1]), m[j] in
// byte j of mins.
HWY_INLINE int32_t MinSum(uint64_t mins, const int16_t* xsums) {
  const D16 d16;
  const D32 d32;
  const hn::Rebind<uint8_t, D32> d8;
  constexpr int kLanes32 = kBytes / 4;
  uint8_t m[8];
  std::memcpy(m, &mins, sizeof m);
  V32 acc = hn::Zero(d32);
  for (int j = 0; j < 8; j += kLanes32) {
    V32 unused = hn::Zero(d32);
    // pmaddwd: lane i = xsums[2i] + xsums[2i+1], the sum of sub-block j + i.
    V32 pairs = hn::ReorderWidenMulAccumulate(d32, hn::LoadU(d16, xsums + 2 * j), hn::Set(d16, 1), hn::Zero(d32), unused);
    pairs = hn::Add(pairs, unused);
    acc = hn::Add(acc, hn::Mul(pairs, hn::BitCast(d32, hn::PromoteTo(hn::RebindToUnsigned<D32>(), hn::LoadU(d8, m + j)))));
  }
  return hn::GetLane(hn::SumOfLanes(d32, acc));
}

template <int C>
HWY_INLINE void TileQ4_K(const std::byte* w, const ActRow* x, int64_t cols, float* out) {
  const D32 d32;
  float sum[C];
  for (int c = 0; c < C; ++c) sum[c] = 0.0f;
  for (int64_t b = 0; b < cols / kSuper; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ4_K*>(w + b * static_cast<int64_t>(sizeof(BlockQ4_K)));
    uint64_t sc, m;
    unpack_q4_k_scales_words(blk->scales, &sc, &m);
    V32 isum[C];
    for (int c = 0; c < C; ++c) isum[c] = hn::Zero(d32);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      Unsigned32 lo, hi;
      for (int k = 0; k < kParts; ++k) {
        const VB v = hn::LoadU(DB(), blk->qs + 32 * j + k * kBytes);
        lo.v[k] = LowNibbles(v);
        hi.v[k] = HighNibbles(v);
      }
      const Scale32 s_lo = SameScale(static_cast<int>((sc >> (16 * j)) & 0xFF));
      const Scale32 s_hi = SameScale(static_cast<int>((sc >> (16 * j + 8)) & 0xFF));
      for (int c = 0; c < C; ++c) {
        const int8_t* xq = x[c].qs + b * kSuper + 64 * j;
        for (int k = 0; k < kParts; ++k) {
          isum[c] = DotScaledAcc(isum[c], lo.v[k], hn::LoadU(DS(), xq + k * kBytes), s_lo.v[k]);
          isum[c] = DotScaledAcc(isum[c], hi.v[k], hn::LoadU(DS(), xq + 32 + k * kBytes), s_hi.v[k]);
        }
      }
    }
    const float d = LoadHalf(blk->d);
    const float dmin = LoadHalf(blk->dmin);
    for (int c = 0; c < C; ++c) {
      const int32_t msum = MinSum(m, x[c].sums + b * (kSuper / 16));
      const int32_t total = hn::GetLane(hn::SumOfLanes(d32, isum[c]));
      const float dx = x[c].d[b];
      sum[c] += (d * dx) * static_cast<float>(total);
      sum[c] -= (dmin * dx) * static_cast<float>(msum);
    }
  }
  for (int c = 0; c < C; ++c) out[c] = sum[c];
}

// ---- Q6_K: super-blocks of 256, sixteen sub-blocks of 16 with int8 scales ----

// The 6-bit quants of values l..l+31 of the four quarters of a Q6_K half
// (l = 0): quarter i is values 32i..32i+31 (layout in dequantize.cc).
struct Q6Quarters {
  Unsigned32 q[4];
};

HWY_INLINE Q6Quarters LoadQ6(const uint8_t* ql, const uint8_t* qh) {
  const DU16 du16;
  const auto m30 = hn::Set(DB(), 0x30);
  Q6Quarters r;
  for (int k = 0; k < kParts; ++k) {
    const VB a = hn::LoadU(DB(), ql + k * kBytes);
    const VB b = hn::LoadU(DB(), ql + 32 + k * kBytes);
    const VB h = hn::LoadU(DB(), qh + k * kBytes);
    const auto h16 = hn::BitCast(du16, h);
    r.q[0].v[k] = hn::Or(LowNibbles(a), hn::And(hn::BitCast(DB(), hn::ShiftLeft<4>(h16)), m30));
    r.q[1].v[k] = hn::Or(LowNibbles(b), hn::And(hn::BitCast(DB(), hn::ShiftLeft<2>(h16)), m30));
    r.q[2].v[k] = hn::Or(HighNibbles(a), hn::And(h, m30));
    r.q[3].v[k] = hn::Or(HighNibbles(b), hn::And(hn::BitCast(DB(), hn::ShiftRight<2>(h16)), m30));
  }
  return r;
}

// The multipliers of Q6_K sub-blocks s and s + 1 (values 16s .. 16s + 31).
HWY_INLINE Scale32 Q6Scale(const int8_t* scales, int s) {
#if HWY_TARGET <= HWY_AVX2
  // Both scales picked from the 16 at once (pshufb), then widened.
  const hn::Full128<int8_t> d8;
  alignas(16) static constexpr int8_t kPair[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  const auto index = hn::Add(hn::Load(d8, kPair), hn::Set(d8, static_cast<int8_t>(s)));
  Scale32 r;
  r.v[0] = hn::PromoteTo(D16(), hn::TableLookupBytes(hn::LoadU(d8, scales), index));
  return r;
#else
  return MakeScale(scales[s], scales[s + 1]);
#endif
}

// sum over the 16 sub-blocks of scales[s] * xsums[s].
HWY_INLINE V32 ScaledSums(const int8_t* scales, const int16_t* xsums) {
  const D16 d16;
  const D32 d32;
  const hn::Rebind<int8_t, D16> d8;
  constexpr int kLanes16 = kBytes / 2;
  V32 acc = hn::Zero(d32), unused = hn::Zero(d32);
  for (int i = 0; i < 16; i += kLanes16)
    acc = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LoadU(d8, scales + i)), hn::LoadU(d16, xsums + i),
                                        acc, unused);
  return hn::Add(acc, unused);
}

template <int C>
HWY_INLINE void TileQ6_K(const std::byte* w, const ActRow* x, int64_t cols, float* out) {
  const D32 d32;
  float sum[C];
  for (int c = 0; c < C; ++c) sum[c] = 0.0f;
  for (int64_t b = 0; b < cols / kSuper; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ6_K*>(w + b * static_cast<int64_t>(sizeof(BlockQ6_K)));
    V32 isum[C];
    for (int c = 0; c < C; ++c) isum[c] = hn::Zero(d32);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const Q6Quarters q = LoadQ6(blk->ql + 64 * h, blk->qh + 32 * h);
      Scale32 s[4];
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) s[i] = Q6Scale(blk->scales, 8 * h + 2 * i);
      for (int c = 0; c < C; ++c) {
        const int8_t* xq = x[c].qs + b * kSuper + 128 * h;
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
          for (int k = 0; k < kParts; ++k)
            isum[c] = DotScaledAcc(isum[c], q.q[i].v[k], hn::LoadU(DS(), xq + 32 * i + k * kBytes), s[i].v[k]);
      }
    }
    const float d = LoadHalf(blk->d);
    for (int c = 0; c < C; ++c) {
      // The quants are stored + 32: subtract 32 * scale * (sub-block x sum).
      const V32 offset = ScaledSums(blk->scales, x[c].sums + b * (kSuper / 16));
      const int32_t total = hn::GetLane(hn::SumOfLanes(d32, hn::Sub(isum[c], hn::ShiftLeft<5>(offset))));
      sum[c] += (d * x[c].d[b]) * static_cast<float>(total);
    }
  }
  for (int c = 0; c < C; ++c) out[c] = sum[c];
}

#if HWY_TARGET == HWY_AVX3_DL
// ---- Q8_0 and Q4_0 on VNNI: register tiles of R weight rows by C x rows ----
//
// vpdpbusd sums four unsigned-by-signed byte products into an int32 lane
// without saturating, so the weights are made unsigned instead of moving
// their signs onto x: u = w + off (Q8_0: w ^ 0x80, off 128; Q4_0: the nibble
// itself, off 8), and the lane starts at -off * (its four x values), which
// makes it exactly sum (u - off) * x = sum w * x. The correction is one
// vpdpbusd per x block, shared by the R weight rows, and the weight decode
// is shared by the C x rows.
// Block scales dw * dx are formed eight blocks at a time (the eight f16 dw of
// a row gathered in one instruction) and broadcast from memory; each (row,
// x row) pair has one float accumulator that takes fma(float(p_b), dw_b *
// dx_b) block after block. Every tile shape runs that same sequence per pair,
// so the bits do not depend on R, C or the neighbours.

struct UnsignedQ8_0 {
  static constexpr int kOffset = 128;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);
  HWY_INLINE static __m256i Quants(const uint8_t* blk) {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2)),
                            _mm256_set1_epi8(static_cast<char>(0x80)));
  }
};

struct UnsignedQ4_0 {
  static constexpr int kOffset = 8;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_0);
  HWY_INLINE static __m256i Quants(const uint8_t* blk) {
    // The 16 bytes in both halves (a load, no shuffle), the upper half
    // shifted down by a nibble: low nibbles are values 0..15, high 16..31.
    const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2)));
    return _mm256_and_si256(_mm256_srlv_epi64(both, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
  }
};
static_assert(offsetof(BlockQ8_0, qs) == 2 && offsetof(BlockQ4_0, qs) == 2);

HWY_INLINE __m256i Vnni(__m256i acc, __m256i a_unsigned, __m256i b_signed) {
  asm("%{evex%} vpdpbusd %[b], %[a], %[acc]" : [acc] "+v"(acc) : [a] "v"(a_unsigned), [b] "v"(b_signed));
  return acc;
}

// The f16 scales of blocks b .. b + 7 of a row.
template <class Q>
HWY_INLINE __m256 Scales8(const uint8_t* row, int64_t b) {
  constexpr int k = static_cast<int>(Q::kBlockBytes);
  const __m256i offsets = _mm256_setr_epi32(0, k, 2 * k, 3 * k, 4 * k, 5 * k, 6 * k, 7 * k);
  // Four bytes from each block's start: the f16 scale and the first quants.
  const __m256i words = _mm256_i32gather_epi32(reinterpret_cast<const int*>(row + b * k), offsets, 1);
  return _mm256_cvtph_ps(_mm256_cvtepi32_epi16(words));
}

HWY_INLINE float SumLanes(__m256 v) {
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 h = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

// One block b of the tile: acc[r][c] += float(sum of w * x) * scale[r][c].
template <int R, int C, class Q>
HWY_INLINE void VnniBlock(const uint8_t* const* rows, const ActRow* x, int64_t b, const float (*scale)[C][8],
                          int k, __m256 (*acc)[C]) {
  const __m256i offset = _mm256_set1_epi8(static_cast<char>(Q::kOffset));
  const __m256i zero = _mm256_setzero_si256();
  __m256i xq[C], start[C];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    xq[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[c].qs + 32 * b));
    start[c] = _mm256_sub_epi32(zero, Vnni(zero, offset, xq[c]));
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const __m256i u = Q::Quants(rows[r] + b * Q::kBlockBytes);
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      const __m256i p = Vnni(start[c], u, xq[c]);
      acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(scale[r][c][k]), acc[r][c]);
    }
  }
}

template <int R, int C, class Q>
HWY_NOINLINE void TileVnni(const std::byte* const* w, const ActRow* x, int64_t cols, float* out) {
  const int64_t blocks = cols / 32;
  const uint8_t* rows[R];
  for (int r = 0; r < R; ++r) rows[r] = reinterpret_cast<const uint8_t*>(w[r]);
  __m256 acc[R][C];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  // scale[r][c][k] = dw * dx of block g + k.
  alignas(32) float scale[R][C][8];
  constexpr int64_t kGroupBytes = 8 * Q::kBlockBytes;
  int64_t g = 0;
  for (; g + 8 <= blocks; g += 8) {
    if constexpr (C == 1) {
      // Decoding (one x row) streams the weights from memory, R rows at
      // once: fetch four groups ahead (past the row's end these are harmless
      // hints; two ahead measured 7-10 % slower). Larger tiles reuse weights
      // already in cache.
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int64_t byte = 0; byte < kGroupBytes; byte += 64)
          _mm_prefetch(reinterpret_cast<const char*>(rows[r] + (g + 32) * Q::kBlockBytes + byte), _MM_HINT_T0);
    }
    __m256 dx[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) dx[c] = _mm256_loadu_ps(x[c].d + g);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 dw = Scales8<Q>(rows[r], g);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) _mm256_store_ps(scale[r][c], _mm256_mul_ps(dw, dx[c]));
    }
#pragma GCC unroll 2
    for (int k = 0; k < 8; ++k) VnniBlock<R, C, Q>(rows, x, g + k, scale, k, acc);
  }
  for (; g < blocks; ++g) {  // the last blocks of a row that is not a multiple of 256
    for (int r = 0; r < R; ++r) {
      const float dw = LoadHalf(rows[r] + g * Q::kBlockBytes);
      for (int c = 0; c < C; ++c) scale[r][c][0] = dw * x[c].d[g];
    }
    VnniBlock<R, C, Q>(rows, x, g, scale, 0, acc);
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[r * C + c] = SumLanes(acc[r][c]);
}

template <int R, class Q>
HWY_INLINE void TileVnniRows(const std::byte* const* w, const ActRow* x, int x_rows, int64_t cols, float* out) {
  switch (x_rows) {
    case 4: return TileVnni<R, 4, Q>(w, x, cols, out);
    case 3: return TileVnni<R, 3, Q>(w, x, cols, out);
    case 2: return TileVnni<R, 2, Q>(w, x, cols, out);
    default: return TileVnni<R, 1, Q>(w, x, cols, out);
  }
}

template <class Q>
HWY_INLINE void TileVnniAny(const std::byte* const* w, int w_rows, const ActRow* x, int x_rows, int64_t cols,
                            float* out) {
  switch (w_rows) {
    case 4: return TileVnniRows<4, Q>(w, x, x_rows, cols, out);
    case 3: return TileVnniRows<3, Q>(w, x, x_rows, cols, out);
    case 2: return TileVnniRows<2, Q>(w, x, x_rows, cols, out);
    default: return TileVnniRows<1, Q>(w, x, x_rows, cols, out);
  }
}
#endif  // HWY_AVX3_DL

template <int C>
void Tile(DType type, const std::byte* w, const ActRow* x, int64_t cols, float* out) {
  switch (type) {
#if HWY_TARGET == HWY_AVX3_DL
    case DType::Q8_0: return TileVnniRows<1, UnsignedQ8_0>(&w, x, C, cols, out);
    case DType::Q4_0: return TileVnniRows<1, UnsignedQ4_0>(&w, x, C, cols, out);
#else
    case DType::Q8_0: return TileBlocks32<C, DecodeQ8_0>(w, x, cols, out);
    case DType::Q4_0: return TileBlocks32<C, DecodeQ4_0>(w, x, cols, out);
#endif
    case DType::Q4_K: return TileQ4_K<C>(w, x, cols, out);
    case DType::Q6_K: return TileQ6_K<C>(w, x, cols, out);
    case DType::F32:
    case DType::F16:
    case DType::BF16: break;
  }
  assert(false && "int_dot_tile: no integer dot for this type");
}

void IntDotTile(DType type, const std::byte* w, const ActRow* x, int x_rows, int64_t cols, float* out) {
  // Every tile sums each x row in the same order as Tile<1>: the bits do not
  // depend on how rows are grouped (the server's batches rely on it).
  switch (x_rows) {
    case 4: return Tile<4>(type, w, x, cols, out);
    case 3: return Tile<3>(type, w, x, cols, out);
    case 2: return Tile<2>(type, w, x, cols, out);
    default:
      for (int c = 0; c < x_rows; ++c) Tile<1>(type, w, x + c, cols, out + c);
  }
}


void IntDotTileRows(DType type, const std::byte* const* w, int w_rows, const ActRow* x, int x_rows, int64_t cols,
                    float* out) {
#if HWY_TARGET == HWY_AVX3_DL
  if (type == DType::Q8_0) return TileVnniAny<UnsignedQ8_0>(w, w_rows, x, x_rows, cols, out);
  if (type == DType::Q4_0) return TileVnniAny<UnsignedQ4_0>(w, w_rows, x, x_rows, cols, out);
#endif
  for (int r = 0; r < w_rows; ++r) IntDotTile(type, w[r], x, x_rows, cols, out + r * x_rows);
}

#else  // scalar or emulated target (or not x86): the reference

void IntDotTile(DType type, const std::byte* w, const ActRow* x, int x_rows, int64_t cols, float* out) {
  for (int c = 0; c < x_rows; ++c) out[c] = int_dot_reference(type, w, x[c], cols);
}

void IntDotTileRows(DType type, const std::byte* const* w, int w_rows, const ActRow* x, int x_rows, int64_t cols,
                    float* out) {
  for (int r = 0; r < w_rows; ++r) IntDotTile(type, w[r], x, x_rows, cols, out + r * x_rows);
}

#endif

}  // namespace officina::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace officina {
HWY_EXPORT(IntDotTile);
HWY_EXPORT(IntDotTileRows);

namespace kernels {
void int_dot_tile(DType type, const std::byte* w, const ActRow* x, int x_rows, int64_t cols, float* out) {
  HWY_DYNAMIC_DISPATCH(IntDotTile)(type, w, x, x_rows, cols, out);
}
void int_dot_tile_rows(DType type, const std::byte* const* w, int w_rows, const ActRow* x, int x_rows, int64_t cols,
                       float* out) {
  HWY_DYNAMIC_DISPATCH(IntDotTileRows)(type, w, w_rows, x, x_rows, cols, out);
}
}  // namespace kernels

float int_dot(DType type, const std::byte* row, const ActRow& x, int64_t cols) {
  float out;
  kernels::int_dot_tile(type, row, &x, 1, cols, &out);
  return out;
}
}  // namespace officina
#endif  // HWY_ONCE
