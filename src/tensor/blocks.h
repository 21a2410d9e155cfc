// Internal: the GGML block structs of the quantized types, shared by the
// dequantizers, the quantizers and the fused dot kernels. Every member is a
// byte array, so a block can be read from any address (GGUF data is only
// byte-aligned per block) and the sizes equal the file's. The full layouts and
// value formulas are documented next to each dequantizer in dequantize.cc.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/half.h"

namespace officina::blocks {

constexpr int kQ8_0 = 32;   // values per Q8_0 block
constexpr int kQ4_0 = 32;   // values per Q4_0 block
constexpr int kSuper = 256; // values per K-quant super-block

struct BlockQ8_0 {
  uint8_t d[2];     // f16 scale
  int8_t qs[kQ8_0]; // value i = qs[i] * d
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
  uint8_t d[2];          // f16 scale
  uint8_t qs[kQ4_0 / 2]; // value i = ((qs[i] & 15) - 8) * d, value 16+i = ((qs[i] >> 4) - 8) * d
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ4_K {
  uint8_t d[2];        // f16 scale of the sub-block scales
  uint8_t dmin[2];     // f16 scale of the sub-block mins
  uint8_t scales[12];  // 8 scales and 8 mins of 6 bits (see unpack_q4_k_scales)
  uint8_t qs[kSuper / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ6_K {
  uint8_t ql[kSuper / 2];  // low 4 bits
  uint8_t qh[kSuper / 4];  // high 2 bits
  int8_t scales[kSuper / 16];
  uint8_t d[2];            // f16 super-block scale
};
static_assert(sizeof(BlockQ6_K) == 210);

// Q4_K packs eight 6-bit scales sc[j] and eight 6-bit mins m[j] in 12 bytes:
//   j < 4:  sc[j] = b[j] & 63,                      m[j] = b[j+4] & 63
//   j >= 4: sc[j] = (b[j+4] & 15) | (b[j-4] >> 6) << 4,
//           m[j]  = (b[j+4] >> 4) | (b[j]   >> 6) << 4
// i.e. bytes 0..3 hold sc[0..3] plus the top 2 bits of sc[4..7], bytes 4..7
// hold m[0..3] plus the top 2 bits of m[4..7], and bytes 8..11 hold the low
// 4 bits of sc[4..7] (low nibble) and m[4..7] (high nibble).
inline void unpack_q4_k_scales(const uint8_t* b, uint8_t sc[8], uint8_t m[8]) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = b[j] & 63;
    m[j] = b[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>((b[j + 4] & 15) | ((b[j - 4] >> 6) << 4));
    m[j] = static_cast<uint8_t>((b[j + 4] >> 4) | ((b[j] >> 6) << 4));
  }
}

// The same unpacking on 32-bit words, for the integer dot kernels: the eight
// scales in the bytes of *sc (scale j in byte j, little-endian) and the eight
// mins in *m. (b >> 6) << 4 of a byte is (b >> 2) & 0x30.
inline void unpack_q4_k_scales_words(const uint8_t* b, uint64_t* sc, uint64_t* m) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, b, 4);
  std::memcpy(&u1, b + 4, 4);
  std::memcpy(&u2, b + 8, 4);
  const uint64_t sc_lo = u0 & 0x3F3F3F3Fu;
  const uint64_t m_lo = u1 & 0x3F3F3F3Fu;
  const uint64_t sc_hi = (u2 & 0x0F0F0F0Fu) | ((u0 >> 2) & 0x30303030u);
  const uint64_t m_hi = ((u2 >> 4) & 0x0F0F0F0Fu) | ((u1 >> 2) & 0x30303030u);
  *sc = sc_lo | (sc_hi << 32);
  *m = m_lo | (m_hi << 32);
}

inline void pack_q4_k_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t* b) {
  for (int j = 0; j < 4; ++j) {
    b[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    b[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    b[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
}

// Rounds v to the nearest integer (halves away from zero) and clamps it to
// [lo, hi]; NaN gives lo, so quantizers never convert NaN to int.
inline int round_clamp(float v, int lo, int hi) {
  const float r = std::round(v);
  if (!(r > static_cast<float>(lo))) return lo;
  if (r >= static_cast<float>(hi)) return hi;
  return static_cast<int>(r);
}

// K-quant quantizers (quantize_k.cc): `blocks` super-blocks of 256 values.
void quantize_q4_k(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q6_k(const float* src, uint8_t* dst, int64_t blocks);

}  // namespace officina::blocks
