// Matrix products against weights of any DType.
//   y[n, rows] = x[n, cols] · W[rows, cols]ᵀ
// W stays in its stored type (used in place from the mmap); x and y are F32.
// Work is split over rows on the thread pool.
// Thread-safety: pure; run from one thread (it uses the pool).
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "tensor/tensor_view.h"

namespace officina {

// One dot product of a stored row with an F32 vector of the row's length.
float dot_row(DType type, const std::byte* row, const float* x, int64_t cols);
// Scalar reference of dot_row (dequantize, then a double-accumulated dot).
float dot_row_reference(DType type, const std::byte* row, const float* x, int64_t cols);

// y[i*rows + r] = dot(W row r, x[i*cols ...]) for i in [0, n), r in [0, rows).
void matmul(const TensorView& w, const float* x, float* y, int64_t n, ThreadPool& pool);
// Scalar reference (single-threaded).
void matmul_reference(const TensorView& w, const float* x, float* y, int64_t n);

}  // namespace officina
