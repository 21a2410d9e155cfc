// quantize_row for every DType, the Q8_0 / Q4_0 quantizers and the public
// half-precision conversions. The K-quant quantizers are in quantize_k.cc.
// Every quantizer writes exactly the layout dequantize.cc documents.
#include "tensor/quantize.h"

#include <cassert>
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"

namespace officina {

namespace {

using namespace blocks;

// Symmetric 8-bit: d = max|x| / 127, q = round(x / d). The quants are
// computed from the float d; only the stored d is rounded to f16.
void quantize_q8_0(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQ8_0; ++b, src += kQ8_0) {
    auto* blk = reinterpret_cast<BlockQ8_0*>(dst + b * sizeof(BlockQ8_0));
    float amax = 0.0f;
    for (int i = 0; i < kQ8_0; ++i) amax = std::fmax(amax, std::fabs(src[i]));
    const float d = amax / 127.0f;
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    half::store_half(blk->d, d);
    for (int i = 0; i < kQ8_0; ++i) blk->qs[i] = static_cast<int8_t>(round_clamp(src[i] * id, -127, 127));
  }
}

// 4-bit with offset 8: the value of largest magnitude maps to quant 0
// (nibble - 8 = -8), which uses the asymmetric range [-8, 7] fully on the
// side that needs it: d = max / -8 keeps the sign of that value.
void quantize_q4_0(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQ4_0; ++b, src += kQ4_0) {
    auto* blk = reinterpret_cast<BlockQ4_0*>(dst + b * sizeof(BlockQ4_0));
    float amax = 0.0f;
    float max = 0.0f;
    for (int i = 0; i < kQ4_0; ++i) {
      if (std::fabs(src[i]) > amax) {
        amax = std::fabs(src[i]);
        max = src[i];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    half::store_half(blk->d, d);
    for (int i = 0; i < kQ4_0 / 2; ++i) {
      const int lo = round_clamp(src[i] * id + 8.0f, 0, 15);
      const int hi = round_clamp(src[i + kQ4_0 / 2] * id + 8.0f, 0, 15);
      blk->qs[i] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

}  // namespace

void quantize_row(DType type, const float* src, std::byte* dst, int64_t n) {
  assert(dtype_row_ok(type, n));
  auto* out = reinterpret_cast<uint8_t*>(dst);
  const int64_t blocks = n / dtype_block_size(type);
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) half::store_half(out + 2 * i, src[i]);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = half::float_to_bf16(src[i]);
        std::memcpy(out + 2 * i, &h, sizeof h);
      }
      return;
    case DType::Q8_0: return quantize_q8_0(src, out, n);
    case DType::Q4_0: return quantize_q4_0(src, out, n);
    case DType::Q4_K: return quantize_q4_k(src, out, blocks);
    case DType::Q6_K: return quantize_q6_k(src, out, blocks);
  }
  assert(false && "unhandled DType");
}

float fp16_to_f32(uint16_t h) { return half::half_to_float(h); }
uint16_t f32_to_fp16(float f) { return half::float_to_half(f); }
float bf16_to_f32(uint16_t h) { return half::bf16_to_float(h); }
uint16_t f32_to_bf16(float f) { return half::float_to_bf16(f); }

}  // namespace officina
