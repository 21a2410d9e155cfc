// Scalar dequantizers: the byte layout of every GGML block type officina
// reads, documented next to the code that decodes it. These functions are the
// reference; the Highway dequantizers in quant_kernels.cc evaluate the same
// float expressions in the same order and must equal them bit for bit.
// All multi-byte fields are little-endian; f16 means IEEE binary16.
#include <cassert>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/kernels.h"
#include "tensor/quantize.h"

namespace officina {

namespace {

using namespace blocks;

const uint8_t* bytes(const std::byte* p) { return reinterpret_cast<const uint8_t*>(p); }

// Q8_0, 34 bytes per 32 values:
//   offset 0: f16 d
//   offset 2: int8 qs[32]
// value[i] = d * qs[i]
void dequantize_q8_0(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ8_0*>(src + b * sizeof(BlockQ8_0));
    const float d = half::load_half(blk->d);
    for (int i = 0; i < kQ8_0; ++i) dst[i] = d * static_cast<float>(blk->qs[i]);
    dst += kQ8_0;
  }
}

// Q4_0, 18 bytes per 32 values:
//   offset 0: f16 d
//   offset 2: uint8 qs[16]; the low nibble of qs[i] is value i, the high
//             nibble is value i + 16 (not i*2+1: halves, not neighbours)
// value = (nibble - 8) * d
void dequantize_q4_0(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ4_0*>(src + b * sizeof(BlockQ4_0));
    const float d = half::load_half(blk->d);
    for (int i = 0; i < kQ4_0 / 2; ++i) {
      dst[i] = d * static_cast<float>((blk->qs[i] & 15) - 8);
      dst[i + kQ4_0 / 2] = d * static_cast<float>((blk->qs[i] >> 4) - 8);
    }
    dst += kQ4_0;
  }
}

// Q4_K, 144 bytes per super-block of 256 values = 8 sub-blocks of 32:
//   offset 0:  f16 d     (scale of the sub-block scales)
//   offset 2:  f16 dmin  (scale of the sub-block mins)
//   offset 4:  uint8 scales[12]: eight 6-bit scales sc[j] and eight 6-bit
//              mins m[j], packed as described at unpack_q4_k_scales (blocks.h)
//   offset 16: uint8 qs[128]: four chunks of 32 bytes; chunk c holds
//              sub-block 2c in its low nibbles and 2c+1 in its high nibbles,
//              so value 64c + l is qs[32c + l] & 15 and value 64c + 32 + l is
//              qs[32c + l] >> 4 (l in [0, 32))
// value = (d * sc[j]) * q - (dmin * m[j]) for the value's sub-block j
void dequantize_q4_k(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ4_K*>(src + b * sizeof(BlockQ4_K));
    const float d = half::load_half(blk->d);
    const float dmin = half::load_half(blk->dmin);
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(blk->scales, sc, m);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = blk->qs + 32 * c;
      const float d_lo = d * static_cast<float>(sc[2 * c]);
      const float m_lo = dmin * static_cast<float>(m[2 * c]);
      const float d_hi = d * static_cast<float>(sc[2 * c + 1]);
      const float m_hi = dmin * static_cast<float>(m[2 * c + 1]);
      for (int l = 0; l < 32; ++l) {
        dst[64 * c + l] = d_lo * static_cast<float>(q[l] & 15) - m_lo;
        dst[64 * c + 32 + l] = d_hi * static_cast<float>(q[l] >> 4) - m_hi;
      }
    }
    dst += kSuper;
  }
}

// Q6_K, 210 bytes per super-block of 256 values = 16 sub-blocks of 16:
//   offset 0:   uint8 ql[128]: low 4 bits of each 6-bit quant
//   offset 128: uint8 qh[64]:  high 2 bits, four quants per byte
//   offset 192: int8 scales[16]: one signed scale per sub-block of 16
//   offset 208: f16 d
// The block is two halves of 128 values; half h uses ql[64h..64h+64),
// qh[32h..32h+32), scales[8h..8h+8) and values 128h..128h+128. Within a half,
// for l in [0, 32) and s = l / 16:
//   value l      = ql[l]      & 15 | ((qh[l] >> 0) & 3) << 4, scale scales[s]
//   value l + 32 = ql[l + 32] & 15 | ((qh[l] >> 2) & 3) << 4, scale scales[s + 2]
//   value l + 64 = ql[l]      >> 4 | ((qh[l] >> 4) & 3) << 4, scale scales[s + 4]
//   value l + 96 = ql[l + 32] >> 4 | ((qh[l] >> 6) & 3) << 4, scale scales[s + 6]
// value = (d * scale) * (q - 32)
void dequantize_q6_k(const uint8_t* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    const auto* blk = reinterpret_cast<const BlockQ6_K*>(src + b * sizeof(BlockQ6_K));
    const float d = half::load_half(blk->d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = blk->ql + 64 * h;
      const uint8_t* qh = blk->qh + 32 * h;
      const int8_t* sc = blk->scales + 8 * h;
      float* y = dst + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = (d * static_cast<float>(sc[s])) * static_cast<float>(q1);
        y[l + 32] = (d * static_cast<float>(sc[s + 2])) * static_cast<float>(q2);
        y[l + 64] = (d * static_cast<float>(sc[s + 4])) * static_cast<float>(q3);
        y[l + 96] = (d * static_cast<float>(sc[s + 6])) * static_cast<float>(q4);
      }
    }
    dst += kSuper;
  }
}

}  // namespace

// F32 rows are copied; F16 / BF16 rows are converted element by element.
void dequantize_row_reference(DType type, const std::byte* src, float* dst, int64_t n) {
  assert(dtype_row_ok(type, n));
  const int64_t blocks = n / dtype_block_size(type);
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = half::load_half(bytes(src) + 2 * i);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, sizeof h);
        dst[i] = half::bf16_to_float(h);
      }
      return;
    case DType::Q8_0: return dequantize_q8_0(bytes(src), dst, blocks);
    case DType::Q4_0: return dequantize_q4_0(bytes(src), dst, blocks);
    case DType::Q4_K: return dequantize_q4_k(bytes(src), dst, blocks);
    case DType::Q6_K: return dequantize_q6_k(bytes(src), dst, blocks);
  }
  assert(false && "unhandled DType");
}

void dequantize_row(DType type, const std::byte* src, float* dst, int64_t n) {
  assert(dtype_row_ok(type, n));
  if (type == DType::F32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  kernels::dequantize(type, src, dst, n);
}

}  // namespace officina
