// Conversion between float32 and every DType: dequantization (all types) and
// quantization (all types; K-quants with a per-sub-block scale search).
// dequantize_row runs Highway kernels and equals dequantize_row_reference bit
// for bit (see tests/tensor). The byte layouts are GGML's, documented in
// dequantize.cc; docs/tensor.md gives an overview.
// Quantizers: Q8_0 and Q4_0 scale by the block's largest magnitude; Q4_K and
// Q6_K search a few candidate scales per sub-block for the least squared
// error. They are deterministic but not bit-identical to llama.cpp's.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tensor/dtype.h"
#include "tensor/tensor_view.h"

namespace officina {

// dst[0..n) = values of the n elements at src (n a multiple of the block size).
void dequantize_row(DType type, const std::byte* src, float* dst, int64_t n);
// Scalar reference of dequantize_row.
void dequantize_row_reference(DType type, const std::byte* src, float* dst, int64_t n);
// dst gets n elements encoded as `type` (dtype_row_bytes(type, n) bytes).
void quantize_row(DType type, const float* src, std::byte* dst, int64_t n);

// Half-precision conversions: narrowing rounds to nearest, ties to even;
// too large values become inf; inf and NaN are kept (NaN made quiet).
float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace officina
