// dot_row and matmul against their scalar references for every DType, on
// every SIMD target, at awkward sizes; determinism across thread counts and
// batch positions. Quantized weights go through the integer path: it must
// follow the scalar integer reference (bit for bit for the K-quants) and stay
// within the activation-quantization bound of the exact F32 product.
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "base/thread_pool.h"
#include "tensor/int_dot.h"
#include "tensor/matmul.h"
#include "tensor/quantize.h"
#include "tensor/quantized_activations.h"
#include "tensor_test_util.h"

namespace officina {
namespace {

using test::for_each_simd_target;
using test::kAllTypes;
using test::random_floats;
using test::random_row;

constexpr int64_t kColsBlock[] = {32, 96, 256, 768, 2816};
constexpr int64_t kColsOdd[] = {1, 3, 7, 17, 100, 1023};

std::vector<int64_t> cols_for(DType type) {
  std::vector<int64_t> out;
  for (int64_t c : kColsBlock)
    if (dtype_row_ok(type, c)) out.push_back(c);
  if (!test::is_block_type(type))
    for (int64_t c : kColsOdd) out.push_back(c);
  return out;
}

// Float accumulation error relative to sum |w x|: measured at most 1.2e-7
// over all types, sizes and targets; the bound 5e-7 leaves 4x, while a wrong
// or missing element shifts the result by about sum|wx| / cols (>= 3.5e-4).
double tolerance(DType type, const std::byte* row, const float* x, int64_t cols) {
  std::vector<float> w(static_cast<size_t>(cols));
  dequantize_row_reference(type, row, w.data(), cols);
  double abs_sum = 0.0;
  for (int64_t i = 0; i < cols; ++i) abs_sum += std::fabs(static_cast<double>(w[i]) * x[i]);
  return 5e-7 * abs_sum + 1e-30;
}

// How far the integer path may be from the exact product: every x value is
// off by at most half a quant step (max|x| / 254 of its block), and Q8's f16
// scale by 2^-11 relative (127 quants of it; 2^-25 absolute below the f16
// normal range); plus float accumulation.
double activation_bound(DType type, const std::byte* row, const float* x, int64_t cols) {
  std::vector<float> w(static_cast<size_t>(cols));
  dequantize_row_reference(type, row, w.data(), cols);
  const int64_t block = act_block(*act_format_for(type));
  const bool f16_scale = *act_format_for(type) == ActFormat::kQ8;
  double bound = 0.0;
  for (int64_t b = 0; b < cols; b += block) {
    double amax = 0.0, wsum = 0.0;
    for (int64_t i = b; i < b + block; ++i) {
      amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
      wsum += std::fabs(static_cast<double>(w[i]));
    }
    const double step = amax / 127.0;
    const double per_value = step * (0.5 + 1e-6) + (f16_scale ? 127.0 * (step * 0x1p-11 + 0x1p-25) : 0.0);
    bound += per_value * wsum;
  }
  return bound + tolerance(type, row, x, cols);
}

// The scalar integer reference of dot_row for a quantized type.
float int_reference(DType type, const std::byte* row, const float* x, int64_t cols) {
  QuantizedActivations acts;
  acts.quantize_reference(*act_format_for(type), x, 1, cols);
  return int_dot_reference(type, row, acts.row(0), cols);
}

// The integer kernels against the integer reference: K-quants exactly, Q8_0
// and Q4_0 up to float accumulation order (sum |d_w d_x w_q x_q| * 5e-7).
void expect_int_close(DType type, float got, float want, const std::byte* row, const float* x, int64_t cols) {
  if (type == DType::Q4_K || type == DType::Q6_K) {
    EXPECT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want)) << got << " vs " << want;
    return;
  }
  QuantizedActivations acts;
  acts.quantize_reference(*act_format_for(type), x, 1, cols);
  std::vector<float> xq(static_cast<size_t>(cols));
  const ActRow a = acts.row(0);
  for (int64_t i = 0; i < cols; ++i) xq[i] = a.d[i / kActQ8Block] * a.qs[i];
  EXPECT_NEAR(got, want, tolerance(type, row, xq.data(), cols));
}

TEST(DotRow, MatchesReferenceForEveryTypeAndTarget) {
  for (DType type : kAllTypes) {
    SCOPED_TRACE(dtype_name(type));
    for (int64_t cols : cols_for(type)) {
      SCOPED_TRACE(cols);
      for (uint32_t seed : {1u, 2u, 3u}) {
        const auto row = random_row(type, cols, seed);
        const auto x = random_floats(cols, seed + 100);
        const float exact = dot_row_reference(type, row.data(), x.data(), cols);
        if (!has_int_dot(type)) {
          const double tol = tolerance(type, row.data(), x.data(), cols);
          for_each_simd_target([&] { EXPECT_NEAR(dot_row(type, row.data(), x.data(), cols), exact, tol); });
          continue;
        }
        const float want = int_reference(type, row.data(), x.data(), cols);
        const double bound = activation_bound(type, row.data(), x.data(), cols);
        EXPECT_NEAR(want, exact, bound);
        for_each_simd_target([&] {
          const float got = dot_row(type, row.data(), x.data(), cols);
          expect_int_close(type, got, want, row.data(), x.data(), cols);
          EXPECT_NEAR(got, exact, bound);
        });
      }
    }
  }
}

TEST(DotRow, KnownQ4_0Value) {
  // One block, d = 0.5, nibble i for values i and 16 + i: values (i-8)/2;
  // with x = 1 the exact dot is 2 * sum_{i<16} (i-8)/2 = -8. x quantizes to
  // q = 127 with scale f16(1/127), so the integer sum is 2 * 127 * -8 and the
  // result (0.5 * f16(1/127)) * -2032.
  std::vector<std::byte> b(18);
  const uint16_t d = f32_to_fp16(0.5f);
  std::memcpy(b.data(), &d, 2);
  for (int i = 0; i < 16; ++i) b[2 + i] = static_cast<std::byte>(i | (i << 4));
  const std::vector<float> x(32, 1.0f);
  const float dx = fp16_to_f32(f32_to_fp16(1.0f / 127.0f));
  const float want = (0.5f * dx) * -2032.0f;
  EXPECT_NEAR(want, -8.0f, 1e-3);
  for_each_simd_target([&] { EXPECT_EQ(dot_row(DType::Q4_0, b.data(), x.data(), 32), want); });
}

struct Matrix {
  TensorView view;
  std::vector<std::byte> bytes;
};

Matrix random_matrix(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  Matrix m;
  const size_t row_bytes = dtype_row_bytes(type, cols);
  m.bytes.resize(row_bytes * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const auto row = random_row(type, cols, seed * 1000 + static_cast<uint32_t>(r));
    std::copy(row.begin(), row.end(), m.bytes.begin() + static_cast<std::ptrdiff_t>(r * row_bytes));
  }
  m.view.dtype = type;
  m.view.ndim = 2;
  m.view.shape = {rows, cols, 1, 1};
  m.view.data = m.bytes.data();
  return m;
}

TEST(Matmul, MatchesReferenceForEveryTypeAndBatchSize) {
  ThreadPool pool(2);
  for (DType type : kAllTypes) {
    SCOPED_TRACE(dtype_name(type));
    for (int64_t cols : cols_for(type)) {
      const int64_t rows = 37;  // not a multiple of the task size
      const Matrix w = random_matrix(type, rows, cols, static_cast<uint32_t>(cols));
      for (int64_t n : {1, 2, 5}) {
        SCOPED_TRACE(testing::Message() << "cols=" << cols << " n=" << n);
        const auto x = random_floats(n * cols, 77);
        std::vector<float> exact(static_cast<size_t>(n * rows)), want(exact.size()), got(exact.size());
        matmul_reference(w.view, x.data(), exact.data(), n);
        matmul_int_reference(w.view, x.data(), want.data(), n);
        for_each_simd_target([&] {
          matmul(w.view, x.data(), got.data(), n, pool);
          for (int64_t i = 0; i < n; ++i)
            for (int64_t r = 0; r < rows; ++r) {
              SCOPED_TRACE(testing::Message() << "x row " << i << ", w row " << r);
              const size_t k = static_cast<size_t>(i * rows + r);
              const float* xi = x.data() + i * cols;
              if (!has_int_dot(type)) {
                ASSERT_EQ(want[k], exact[k]);
                ASSERT_NEAR(got[k], exact[k], tolerance(type, w.view.row(r), xi, cols));
                continue;
              }
              expect_int_close(type, got[k], want[k], w.view.row(r), xi, cols);
              ASSERT_NEAR(got[k], exact[k], activation_bound(type, w.view.row(r), xi, cols));
            }
        });
      }
    }
  }
}

TEST(Matmul, ReferenceAgreesWithDotRowReference) {
  const Matrix w = random_matrix(DType::Q4_K, 5, 512, 3);
  const auto x = random_floats(2 * 512, 4);
  std::vector<float> y(10);
  matmul_reference(w.view, x.data(), y.data(), 2);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t r = 0; r < 5; ++r)
      EXPECT_EQ(y[i * 5 + r], dot_row_reference(DType::Q4_K, w.view.row(r), x.data() + i * 512, 512));
}

TEST(Matmul, ThreadCountDoesNotChangeBits) {
  for (DType type : kAllTypes) {
    SCOPED_TRACE(dtype_name(type));
    const int64_t rows = 100, cols = 768;
    const Matrix w = random_matrix(type, rows, cols, 11);
    for (int64_t n : {1, 5}) {
      const auto x = random_floats(n * cols, 12);
      std::vector<float> single(static_cast<size_t>(n * rows));
      ThreadPool one(1);
      matmul(w.view, x.data(), single.data(), n, one);
      for (int threads : {2, 3, 7}) {
        ThreadPool pool(threads);
        std::vector<float> multi(single.size(), -1.0f);
        matmul(w.view, x.data(), multi.data(), n, pool);
        EXPECT_TRUE(test::same_bits(multi.data(), single.data(), n * rows)) << threads << " threads, n=" << n;
      }
    }
  }
}

TEST(Matmul, BatchPositionDoesNotChangeBits) {
  // x rows 0 and 4 are equal (row 4 sits in a padded last group), and weight
  // rows 0 and 20 are equal (row 20 is the odd one out of its task and goes
  // through the one-row tile): all four outputs must be the same bits.
  ThreadPool pool(2);
  for (DType type : kAllTypes) {
    SCOPED_TRACE(dtype_name(type));
    const int64_t rows = 21, cols = 256;
    Matrix w = random_matrix(type, rows, cols, 21);
    const size_t row_bytes = w.view.row_bytes();
    std::copy(w.bytes.begin(), w.bytes.begin() + static_cast<std::ptrdiff_t>(row_bytes),
              w.bytes.begin() + static_cast<std::ptrdiff_t>(20 * row_bytes));
    auto x = random_floats(5 * cols, 22);
    std::copy(x.begin(), x.begin() + cols, x.begin() + 4 * cols);
    std::vector<float> y(static_cast<size_t>(5 * rows));
    for_each_simd_target([&] {
      matmul(w.view, x.data(), y.data(), 5, pool);
      EXPECT_TRUE(test::same_bits(y.data(), y.data() + 4 * rows, rows));
      EXPECT_EQ(std::bit_cast<uint32_t>(y[0]), std::bit_cast<uint32_t>(y[20]));
    });
  }
}

TEST(Matmul, IntegerPathGivesTheSameBitsForAnyBatchSize) {
  // Quantized weights: an output depends only on its weight row and x row,
  // so decode (n = 1), dot_row and every batch position agree bit for bit.
  ThreadPool pool(2);
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K}) {
    SCOPED_TRACE(dtype_name(type));
    const int64_t rows = 19, cols = 512;
    const Matrix w = random_matrix(type, rows, cols, 31);
    // Groups of 4, 3, 2 and 1 x rows (the server batches any number).
    for (int64_t n : {2, 3, 6, 7, 8, 9})
    for_each_simd_target([&] {
      const auto x = random_floats(n * cols, 32 + static_cast<uint32_t>(n));
      std::vector<float> batch(static_cast<size_t>(n * rows)), single(static_cast<size_t>(rows));
      matmul(w.view, x.data(), batch.data(), n, pool);
      for (int64_t i = 0; i < n; ++i) {
        matmul(w.view, x.data() + i * cols, single.data(), 1, pool);
        EXPECT_TRUE(test::same_bits(single.data(), batch.data() + i * rows, rows)) << "n=" << n << " x row " << i;
        const float d = dot_row(type, w.view.row(3), x.data() + i * cols, cols);
        EXPECT_EQ(std::bit_cast<uint32_t>(d), std::bit_cast<uint32_t>(single[3]));
      }
    });
  }
}

TEST(Matmul, HigherRankWeightsUseAllRows) {
  // A [2, 3, 64] tensor is 6 rows of 64.
  Matrix w = random_matrix(DType::F16, 6, 64, 5);
  w.view.ndim = 3;
  w.view.shape = {2, 3, 64, 1};
  const auto x = random_floats(64, 6);
  std::vector<float> y(6), want(6);
  ThreadPool pool(2);
  matmul(w.view, x.data(), y.data(), 1, pool);
  matmul_reference(w.view, x.data(), want.data(), 1);
  for (int r = 0; r < 6; ++r) EXPECT_NEAR(y[r], want[r], 1e-4);
}


// One weight row on more threads than rows, and batches around a tile of
// four: matmul still equals its references.
TEST(Matmul, OneRowOnMoreThreadsThanRows) {
  ThreadPool pool(3);
  for (DType type : kAllTypes) {
    SCOPED_TRACE(dtype_name(type));
    const int64_t cols = 256;
    const Matrix w = random_matrix(type, 1, cols, 51);
    for (int64_t n : {1, 3, 4, 5}) {
      const auto x = random_floats(n * cols, 52);
      std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n), -1.0f);
      matmul_int_reference(w.view, x.data(), want.data(), n);
      matmul(w.view, x.data(), got.data(), n, pool);
      for (int64_t i = 0; i < n; ++i) {
        if (has_int_dot(type))
          expect_int_close(type, got[i], want[i], w.view.row(0), x.data() + i * cols, cols);
        else
          EXPECT_NEAR(got[i], want[i], tolerance(type, w.view.row(0), x.data() + i * cols, cols)) << "n=" << n;
      }
    }
  }
}

}  // namespace
}  // namespace officina
