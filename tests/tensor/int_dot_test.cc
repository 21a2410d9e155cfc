// Activation quantization (Q8, Q8K) and the integer dot kernels: the SIMD
// quantizers give the reference's bytes on every target, known values of
// both formats, the dot kernels against the scalar integer reference (K-quants
// bit for bit) including the extreme quants where an int16 intermediate
// could overflow, and tiles of four x rows against single rows.
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/half.h"
#include "tensor/int_dot.h"
#include "tensor/kernels.h"
#include "tensor/quantize.h"
#include "tensor/quantized_activations.h"
#include "tensor_test_util.h"

namespace officina {
namespace {

using test::for_each_simd_target;
using test::random_floats;
using test::random_row;

constexpr DType kIntTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K};

// Gaussian data with awkward blocks: one all zero, one with a single outlier,
// one whose largest magnitude appears with both signs, one of tiny values
// (f16 scale below the normal range), one with a negative maximum.
std::vector<float> awkward_floats(int64_t n, uint32_t seed) {
  auto x = random_floats(n, seed, 3.0f);
  if (n >= 512) {
    for (int i = 0; i < 32; ++i) x[32 + i] = 0.0f;
    x[70] = 1000.0f;
    x[300] = 5.0f;
    x[301] = -5.0f;
    for (int i = 0; i < 32; ++i) x[128 + i] *= 1e-7f;
    x[400] = -50.0f;
  }
  return x;
}

void expect_same_activations(const QuantizedActivations& a, const QuantizedActivations& b) {
  ASSERT_EQ(a.rows(), b.rows());
  ASSERT_EQ(a.cols(), b.cols());
  const int64_t cols = a.cols();
  const int64_t blocks = cols / act_block(a.format());
  for (int64_t i = 0; i < a.rows(); ++i) {
    const ActRow x = a.row(i), y = b.row(i);
    EXPECT_EQ(std::memcmp(x.qs, y.qs, static_cast<size_t>(cols)), 0) << "row " << i;
    EXPECT_TRUE(test::same_bits(x.d, y.d, blocks)) << "row " << i;
    if (a.format() == ActFormat::kQ8K) {
      EXPECT_EQ(std::memcmp(x.sums, y.sums, static_cast<size_t>(cols / kActQ8KGroup) * sizeof(int16_t)), 0);
    }
  }
}

TEST(ActivationQuant, SimdEqualsReferenceOnEveryTarget) {
  ThreadPool pool(3);
  for (ActFormat format : {ActFormat::kQ8, ActFormat::kQ8K}) {
    for (int64_t cols : {256, 768, 2816}) {
      SCOPED_TRACE(testing::Message() << "format " << static_cast<int>(format) << " cols " << cols);
      const int64_t n = 5;
      const auto x = awkward_floats(n * cols, static_cast<uint32_t>(cols));
      QuantizedActivations want;
      want.quantize_reference(format, x.data(), n, cols);
      for_each_simd_target([&] {
        QuantizedActivations got;
        got.quantize(format, x.data(), n, cols, &pool);
        expect_same_activations(got, want);
        got.quantize(format, x.data(), n, cols);  // no pool: same bytes
        expect_same_activations(got, want);
      });
    }
  }
}

TEST(ActivationQuant, Q8KnownBlock) {
  // x = i - 16: max |x| = 16, quants round((i - 16) * 127 / 16) (ties to
  // even), scale f16(16 / 127).
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16);
  for_each_simd_target([&] {
    QuantizedActivations a;
    a.quantize(ActFormat::kQ8, x.data(), 1, 32);
    const ActRow r = a.row(0);
    EXPECT_EQ(r.d[0], fp16_to_f32(f32_to_fp16(16.0f / 127.0f)));
    EXPECT_EQ(r.sums, nullptr);
    for (int i = 0; i < 32; ++i) EXPECT_EQ(r.qs[i], std::nearbyint((i - 16) * (127.0f / 16.0f))) << i;
    EXPECT_EQ(r.qs[0], -127);
    EXPECT_EQ(r.qs[31], 119);
  });
}

TEST(ActivationQuant, Q8KLargestMagnitudeMapsToMinus127) {
  // The first value of largest magnitude decides the sign of the scale and
  // becomes -127; an equal magnitude of the other sign becomes +127.
  for (float sign : {1.0f, -1.0f}) {
    std::vector<float> x(256, 0.0f);
    for (int i = 0; i < 256; ++i) x[i] = sign * 0.01f * static_cast<float>(i % 37);
    x[10] = 4.0f * sign;
    x[200] = -4.0f * sign;
    for_each_simd_target([&] {
      QuantizedActivations a;
      a.quantize(ActFormat::kQ8K, x.data(), 1, 256);
      const ActRow r = a.row(0);
      EXPECT_EQ(r.qs[10], -127);
      EXPECT_EQ(r.qs[200], 127);
      EXPECT_EQ(r.d[0], 1.0f / (-127.0f / (4.0f * sign)));
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += r.qs[i];
      EXPECT_EQ(r.sums[0], sum);
      for (int i = 0; i < 256; ++i) EXPECT_LE(std::fabs(r.d[0] * r.qs[i] - x[i]), std::fabs(r.d[0]) * 0.5f + 1e-6f) << i;
    });
  }
}

TEST(ActivationQuant, ZeroBlocksGiveZeroScale) {
  const std::vector<float> x(512, 0.0f);
  for (ActFormat format : {ActFormat::kQ8, ActFormat::kQ8K}) {
    for_each_simd_target([&] {
      QuantizedActivations a;
      a.quantize(format, x.data(), 1, 512);
      const ActRow r = a.row(0);
      for (int i = 0; i < 512; ++i) ASSERT_EQ(r.qs[i], 0);
      for (int64_t b = 0; b < 512 / act_block(format); ++b) EXPECT_EQ(r.d[b], 0.0f);
      if (format == ActFormat::kQ8K) {
        for (int g = 0; g < 32; ++g) EXPECT_EQ(r.sums[g], 0);
      }
    });
  }
}

// Integer dot of `row` against each x row: SIMD (all targets, single rows and
// a tile of four) against the reference.
void check_against_reference(DType type, const std::vector<std::byte>& row, const std::vector<float>& x, int64_t n,
                             int64_t cols) {
  QuantizedActivations acts;
  acts.quantize_reference(*act_format_for(type), x.data(), n, cols);
  std::vector<float> want(static_cast<size_t>(n)), w(static_cast<size_t>(cols));
  std::vector<double> tol(static_cast<size_t>(n));
  dequantize_row_reference(type, row.data(), w.data(), cols);
  const int64_t block = act_block(acts.format());
  for (int64_t i = 0; i < n; ++i) {
    const ActRow a = acts.row(i);
    want[i] = int_dot_reference(type, row.data(), a, cols);
    // Float accumulation order: 5e-7 of sum |w x| over the dequantized values.
    double abs_sum = 0.0;
    for (int64_t k = 0; k < cols; ++k) abs_sum += std::fabs(static_cast<double>(w[k]) * a.d[k / block] * a.qs[k]);
    tol[i] = 5e-7 * abs_sum + 1e-30;
  }
  const bool exact = type == DType::Q4_K || type == DType::Q6_K;
  for_each_simd_target([&] {
    for (int64_t i = 0; i < n; ++i) {
      const float got = int_dot(type, row.data(), acts.row(i), cols);
      if (exact) {
        EXPECT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want[i])) << got << " vs " << want[i];
      } else {
        EXPECT_NEAR(got, want[i], tol[i]) << "x row " << i;
      }
    }
    // Tiles of four x rows give each row's single-row bits.
    for (int64_t i = 0; i + 4 <= n; i += 4) {
      ActRow xs[4];
      for (int j = 0; j < 4; ++j) xs[j] = acts.row(i + j);
      float out[4];
      kernels::int_dot_tile(type, row.data(), xs, 4, cols, out);
      for (int j = 0; j < 4; ++j) {
        const float single = int_dot(type, row.data(), acts.row(i + j), cols);
        EXPECT_EQ(std::bit_cast<uint32_t>(out[j]), std::bit_cast<uint32_t>(single)) << "x row " << i + j;
      }
    }
  });
}

TEST(IntDot, MatchesReferenceOnRandomRows) {
  for (DType type : kIntTypes) {
    SCOPED_TRACE(dtype_name(type));
    for (int64_t cols : {256, 512, 2816}) {
      SCOPED_TRACE(cols);
      const auto row = random_row(type, cols, static_cast<uint32_t>(cols) + 7);
      check_against_reference(type, row, awkward_floats(8 * cols, 9), 8, cols);
    }
  }
}

// Blocks with the largest quants every format allows, against x quants of
// +-127: the int16 pair sums and the int32 super-block sums must not wrap.
TEST(IntDot, ExtremeQuantsDoNotOverflow) {
  const int64_t cols = 512;
  std::vector<float> x(2 * cols);
  for (int64_t i = 0; i < cols; ++i) x[i] = 1.0f;                       // all q = 127 (Q8) / -127 (Q8K)
  for (int64_t i = 0; i < cols; ++i) x[cols + i] = (i % 2) ? 1.0f : -1.0f;
  auto fill = [&](DType type, auto&& make_block) {
    std::vector<std::byte> row(dtype_row_bytes(type, cols));
    const int64_t per = dtype_block_size(type), bytes = dtype_block_bytes(type);
    for (int64_t b = 0; b < cols / per; ++b) make_block(reinterpret_cast<uint8_t*>(row.data() + b * bytes));
    return row;
  };
  // Q8_0: every quant -128, d = 1.
  check_against_reference(DType::Q8_0, fill(DType::Q8_0, [](uint8_t* blk) {
    half::store_half(blk, 1.0f);
    std::memset(blk + 2, 0x80, 32);
  }), x, 2, cols);
  // Q4_0: nibbles 0 (-8) and 15 (+7).
  check_against_reference(DType::Q4_0, fill(DType::Q4_0, [](uint8_t* blk) {
    half::store_half(blk, 1.0f);
    std::memset(blk + 2, 0xF0, 16);
  }), x, 2, cols);
  // Q4_K: all scales and mins 63, nibbles 15.
  check_against_reference(DType::Q4_K, fill(DType::Q4_K, [](uint8_t* blk) {
    half::store_half(blk, 1.0f);
    half::store_half(blk + 2, 1.0f);
    std::memset(blk + 4, 0xFF, 12);
    std::memset(blk + 16, 0xFF, 128);
  }), x, 2, cols);
  // Q6_K: quants 63 (stored; +31 after the offset) and scales -128.
  check_against_reference(DType::Q6_K, fill(DType::Q6_K, [](uint8_t* blk) {
    std::memset(blk, 0xFF, 192);
    std::memset(blk + 192, 0x80, 16);
    half::store_half(blk + 208, 1.0f);
  }), x, 2, cols);
  // Q6_K: quants 0 (-32 after the offset) and scales 127.
  check_against_reference(DType::Q6_K, fill(DType::Q6_K, [](uint8_t* blk) {
    std::memset(blk, 0x00, 192);
    std::memset(blk + 192, 0x7F, 16);
    half::store_half(blk + 208, 1.0f);
  }), x, 2, cols);
}

TEST(IntDot, Q8_0ExtremeValueIsExact) {
  // All weights -128 (d = 1) against x = 1 (q = 127, d = f16(1/127)):
  // isum = 32 * -128 * 127 per block.
  std::vector<std::byte> row(34 * 2);
  for (int b = 0; b < 2; ++b) {
    half::store_half(reinterpret_cast<uint8_t*>(row.data() + 34 * b), 1.0f);
    std::memset(row.data() + 34 * b + 2, 0x80, 32);
  }
  const std::vector<float> x(64, 1.0f);
  const float dx = fp16_to_f32(f32_to_fp16(1.0f / 127.0f));
  const float block = dx * static_cast<float>(32 * -128 * 127);
  for_each_simd_target([&] {
    QuantizedActivations a;
    a.quantize(ActFormat::kQ8, x.data(), 1, 64);
    EXPECT_EQ(int_dot(DType::Q8_0, row.data(), a.row(0), 64), block + block);
  });
}


// The register tiles of several weight rows (int_dot_tile_rows, VNNI for
// Q8_0 / Q4_0) give each (weight row, x row) the bits of the single dot, for
// every tile shape, on row lengths with and without a partial group of
// eight blocks (96 = 3 blocks, 352 = 8 + 3, 1024 = 4 x 8).
TEST(IntDot, RowTilesGiveTheSingleDotBits) {
  for (DType type : kIntTypes) {
    SCOPED_TRACE(dtype_name(type));
    for (int64_t cols : {96, 352, 1024}) {
      if (!dtype_row_ok(type, cols)) continue;
      SCOPED_TRACE(cols);
      std::vector<std::vector<std::byte>> rows;
      for (uint32_t r = 0; r < 4; ++r) rows.push_back(random_row(type, cols, 40 + r));
      QuantizedActivations acts;
      const auto x = awkward_floats(4 * cols, 41);
      acts.quantize_reference(*act_format_for(type), x.data(), 4, cols);
      for_each_simd_target([&] {
        for (int w_rows = 1; w_rows <= 4; ++w_rows)
          for (int x_rows = 1; x_rows <= 4; ++x_rows) {
            const std::byte* ws[4];
            ActRow xs[4];
            for (int r = 0; r < w_rows; ++r) ws[r] = rows[static_cast<size_t>(r)].data();
            for (int c = 0; c < x_rows; ++c) xs[c] = acts.row(c);
            float out[16];
            kernels::int_dot_tile_rows(type, ws, w_rows, xs, x_rows, cols, out);
            for (int r = 0; r < w_rows; ++r)
              for (int c = 0; c < x_rows; ++c) {
                const float single = int_dot(type, ws[r], xs[c], cols);
                EXPECT_EQ(std::bit_cast<uint32_t>(out[r * x_rows + c]), std::bit_cast<uint32_t>(single))
                    << w_rows << "x" << x_rows << " tile, row " << r << ", x row " << c;
                // And the reference, within the summation-order tolerance.
                EXPECT_NEAR(single, int_dot_reference(type, ws[r], xs[c], cols),
                            1e-5 * (std::fabs(single) + 1.0));
              }
          }
      });
    }
  }
}

}  // namespace
}  // namespace officina
