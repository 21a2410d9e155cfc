// Matrix products against weights of any DType.
//   y[n, rows] = x[n, cols] · W[rows, cols]ᵀ
// W stays in its stored type (used in place from the mmap); x and y are F32.
// Work is split over rows on the thread pool.
//
// Quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) are multiplied the way the
// reference engine (llama.cpp) does it: x is first quantized to int8 blocks
// (32 values with an f16 scale for Q8_0 / Q4_0; 256 values with a float
// scale and per-16 sums for Q4_K / Q6_K) and the products are integer sums per
// block, scaled in float (quantized_activations.h, int_dot.h). Against the
// exact product with F32 x (matmul_reference) this adds the rounding of x to
// 8 bits: |error| <= sum over blocks of (max|x| of the block / 254 + f16
// scale rounding) * sum |w| of the block. F32, F16 and BF16 weights multiply
// F32 x directly.
// Results are bit-identical for any thread count.
// Thread-safety: pure; run from one thread (it uses the pool and a
// thread_local buffer for the quantized x).
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "tensor/tensor_view.h"

namespace officina {

// One dot product of a stored row with an F32 vector of the row's length
// (quantized types quantize x first, as matmul does).
float dot_row(DType type, const std::byte* row, const float* x, int64_t cols);
// Exact reference: dequantize, then a double-accumulated dot with F32 x.
float dot_row_reference(DType type, const std::byte* row, const float* x, int64_t cols);

// y[i*rows + r] = dot(W row r, x[i*cols ...]) for i in [0, n), r in [0, rows).
void matmul(const TensorView& w, const float* x, float* y, int64_t n, ThreadPool& pool);
// Exact reference with F32 x (single-threaded, double accumulation).
void matmul_reference(const TensorView& w, const float* x, float* y, int64_t n);
// Scalar reference of matmul's numerics for quantized W: x quantized by the
// scalar quantizer, then the scalar integer dots (single-threaded). For
// F32 / F16 / BF16 W it is matmul_reference.
void matmul_int_reference(const TensorView& w, const float* x, float* y, int64_t n);

}  // namespace officina
