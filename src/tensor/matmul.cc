// y[n, rows] = x[n, cols] · W[rows, cols]ᵀ for W of any DType.
//
// Work is split into tasks of kRowsPerTask weight rows on the pool. Every
// output is computed by the same code whatever the thread count or task, so
// results are bit-identical across pool sizes.
//
// Quantized W (Q8_0, Q4_0, Q4_K, Q6_K): the x rows are quantized once per
// call (quantized_activations.h, split over the pool when n > 1), then each
// task runs the integer dot kernels (int_dot.h) over its weight rows, four x
// rows at a time so that a decoded weight block serves four x rows. An
// output's bits depend only on its weight row and x row: not on n, the
// position in the batch or the thread count.
//
// Float W (F32, F16, BF16), F32 activations:
// n = 1 (decode): one fused convert-and-dot per weight row (dot_row).
// n > 1 (prefill): each task converts its weight rows once into a
// per-thread F32 scratch and multiplies them with the x rows in tiles of two
// weight rows by four x rows. The two paths sum in different orders, so an x
// row's result at n = 1 and inside a batch differ in the last bits; within a
// batch it depends neither on its neighbours nor on its position.
#include "tensor/matmul.h"

#include <algorithm>
#include <cassert>
#include <vector>

#include "base/aligned_allocator.h"
#include "tensor/int_dot.h"
#include "tensor/kernels.h"
#include "tensor/quantize.h"
#include "tensor/quantized_activations.h"

namespace officina {

namespace {

constexpr int64_t kRowsPerTask = 16;

// y rows [r0, r1) for all n x rows, prefill path.
void matmul_rows_batched(const TensorView& w, const float* x, float* y, int64_t n, int64_t r0, int64_t r1) {
  const int64_t rows = w.rows();
  const int64_t cols = w.cols();
  const int64_t count = r1 - r0;
  // The task's rows as F32 in a per-thread scratch whose rows start on
  // 64-byte lines (F32 rows too: GGUF aligns tensors to 32 bytes only, and
  // 64-byte loads that straddle two lines cost twice). Rows are padded to a
  // whole line.
  thread_local AlignedVector<float> scratch;
  const int64_t stride = (cols + 15) / 16 * 16;
  scratch.resize(static_cast<size_t>(count * stride));
  const float* wrows[kRowsPerTask];
  for (int64_t r = 0; r < count; ++r) {
    float* dst = scratch.data() + r * stride;
    if (w.dtype == DType::F32)
      std::copy_n(reinterpret_cast<const float*>(w.row(r0 + r)), cols, dst);
    else
      dequantize_row(w.dtype, w.row(r0 + r), dst, cols);
    wrows[r] = dst;
  }
  // x groups outermost: a group of four x rows stays in cache while every
  // weight row of the task passes over it, two at a time. A last group of
  // fewer than four repeats its final row and drops those outputs.
  for (int64_t i = 0; i < n; i += 4) {
    const float* xs[4];
    for (int64_t j = 0; j < 4; ++j) xs[j] = x + std::min(i + j, n - 1) * cols;
    const int64_t valid = std::min<int64_t>(4, n - i);
    int64_t r = 0;
    for (; r + 4 <= count; r += 4) {
      const float* ws[4] = {wrows[r], wrows[r + 1], wrows[r + 2], wrows[r + 3]};
      float out[16];
      kernels::dot_f32_tile_4x4(ws, xs, cols, out);
      for (int64_t k = 0; k < 4; ++k)
        for (int64_t j = 0; j < valid; ++j) y[(i + j) * rows + r0 + r + k] = out[4 * k + j];
    }
    for (; r + 2 <= count; r += 2) {
      const float* ws[2] = {wrows[r], wrows[r + 1]};
      float out[8];
      kernels::dot_f32_tile_2x4(ws, xs, cols, out);
      for (int64_t j = 0; j < valid; ++j) {
        y[(i + j) * rows + r0 + r] = out[j];
        y[(i + j) * rows + r0 + r + 1] = out[4 + j];
      }
    }
    if (r < count) {
      float out[4];
      kernels::dot_f32_tile_1x4(wrows[r], xs, cols, out);
      for (int64_t j = 0; j < valid; ++j) y[(i + j) * rows + r0 + r] = out[j];
    }
  }
}

// The calling thread's quantized x rows, reused across calls.
QuantizedActivations& thread_activations() {
  thread_local QuantizedActivations acts;
  return acts;
}

void matmul_int(const TensorView& w, const float* x, float* y, int64_t n, ThreadPool& pool) {
  const int64_t rows = w.rows();
  const int64_t cols = w.cols();
  QuantizedActivations& acts = thread_activations();
  acts.quantize(*act_format_for(w.dtype), x, n, cols, &pool);
  const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  pool.run(tasks, [&](int64_t task, int) {
    const int64_t r0 = task * kRowsPerTask;
    const int64_t r1 = std::min(rows, r0 + kRowsPerTask);
    // x groups outermost: four quantized x rows stay in L1 while the task's
    // weight rows pass over them.
    for (int64_t i = 0; i < n; i += 4) {
      const int group = static_cast<int>(std::min<int64_t>(4, n - i));
      ActRow xs[4];
      for (int j = 0; j < group; ++j) xs[j] = acts.row(i + j);
      for (int64_t r = r0; r < r1; r += 4) {
        const int w_rows = static_cast<int>(std::min<int64_t>(4, r1 - r));
        const std::byte* ws[4];
        for (int k = 0; k < w_rows; ++k) ws[k] = w.row(r + k);
        float out[16];
        kernels::int_dot_tile_rows(w.dtype, ws, w_rows, xs, group, cols, out);
        for (int k = 0; k < w_rows; ++k)
          for (int j = 0; j < group; ++j) y[(i + j) * rows + r + k] = out[k * group + j];
      }
    }
  });
}

}  // namespace

float dot_row(DType type, const std::byte* row, const float* x, int64_t cols) {
  assert(dtype_row_ok(type, cols));
  switch (type) {
    case DType::F32: return kernels::dot_f32(reinterpret_cast<const float*>(row), x, cols);
    case DType::F16: return kernels::dot_f16(reinterpret_cast<const uint16_t*>(row), x, cols);
    case DType::BF16: return kernels::dot_bf16(reinterpret_cast<const uint16_t*>(row), x, cols);
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_K:
    case DType::Q6_K: {
      QuantizedActivations& acts = thread_activations();
      acts.quantize(*act_format_for(type), x, 1, cols);
      return int_dot(type, row, acts.row(0), cols);
    }
  }
  assert(false && "unhandled DType");
  return 0.0f;
}

float dot_row_reference(DType type, const std::byte* row, const float* x, int64_t cols) {
  std::vector<float> w(static_cast<size_t>(cols));
  dequantize_row_reference(type, row, w.data(), cols);
  double sum = 0.0;
  for (int64_t i = 0; i < cols; ++i) sum += static_cast<double>(w[static_cast<size_t>(i)]) * x[i];
  return static_cast<float>(sum);
}

void matmul(const TensorView& w, const float* x, float* y, int64_t n, ThreadPool& pool) {
  assert(w.valid() && dtype_row_ok(w.dtype, w.cols()));
  const int64_t rows = w.rows();
  if (n <= 0 || rows <= 0) return;
  if (has_int_dot(w.dtype)) return matmul_int(w, x, y, n, pool);
  const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  if (n == 1) {
    pool.run(tasks, [&](int64_t task, int) {
      const int64_t r1 = std::min(rows, (task + 1) * kRowsPerTask);
      const int64_t row_bytes = static_cast<int64_t>(dtype_row_bytes(w.dtype, w.cols()));
      for (int64_t r = task * kRowsPerTask; r < r1; ++r) {
        // Decoding streams the weights from memory: ask for the row after
        // next while this one is summed.
        if (r + 2 < rows) {
          const char* ahead = reinterpret_cast<const char*>(w.row(r + 2));
          for (int64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(ahead + b);
        }
        y[r] = dot_row(w.dtype, w.row(r), x, w.cols());
      }
    });
    return;
  }
  pool.run(tasks, [&](int64_t task, int) {
    matmul_rows_batched(w, x, y, n, task * kRowsPerTask, std::min(rows, (task + 1) * kRowsPerTask));
  });
}

void matmul_reference(const TensorView& w, const float* x, float* y, int64_t n) {
  const int64_t rows = w.rows();
  const int64_t cols = w.cols();
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row_reference(w.dtype, w.row(r), row.data(), cols);
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0.0;
      for (int64_t c = 0; c < cols; ++c) sum += static_cast<double>(row[static_cast<size_t>(c)]) * x[i * cols + c];
      y[i * rows + r] = static_cast<float>(sum);
    }
  }
}

void matmul_int_reference(const TensorView& w, const float* x, float* y, int64_t n) {
  if (!has_int_dot(w.dtype)) return matmul_reference(w, x, y, n);
  const int64_t rows = w.rows();
  const int64_t cols = w.cols();
  QuantizedActivations acts;
  acts.quantize_reference(*act_format_for(w.dtype), x, n, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) y[i * rows + r] = int_dot_reference(w.dtype, w.row(r), acts.row(i), cols);
}

}  // namespace officina
