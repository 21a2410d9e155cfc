// Dequantizers against hand-built blocks (the GGML layouts, written out here
// independently of src/tensor), the SIMD dequantizers against the scalar
// reference bit for bit, and quantize -> dequantize error bounds per type.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/quantize.h"
#include "tensor_test_util.h"

namespace officina {
namespace {

using test::for_each_simd_target;
using test::kAllTypes;
using test::random_floats;
using test::relative_rms;
using test::same_bits;

void put_half(std::vector<std::byte>& b, size_t offset, float v) {
  const uint16_t h = f32_to_fp16(v);
  std::memcpy(b.data() + offset, &h, 2);
}

std::vector<float> dequantized(DType type, const std::vector<std::byte>& bytes, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(type, bytes.data(), out.data(), n);
  return out;
}

TEST(Dequantize, Q4_0KnownBlock) {
  // d = 0.5; low nibbles 0..15 are values 0..15, high nibbles 15..0 are 16..31.
  std::vector<std::byte> b(18);
  put_half(b, 0, 0.5f);
  for (int i = 0; i < 16; ++i) b[2 + i] = static_cast<std::byte>(i | ((15 - i) << 4));
  const auto y = dequantized(DType::Q4_0, b, 32);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(y[i], (i - 8) * 0.5f) << i;
    EXPECT_EQ(y[16 + i], (7 - i) * 0.5f) << i;
  }
}

TEST(Dequantize, Q8_0KnownBlocks) {
  std::vector<std::byte> b(68);
  put_half(b, 0, 0.25f);
  put_half(b, 34, -3.0f);
  for (int i = 0; i < 32; ++i) {
    b[2 + i] = static_cast<std::byte>(static_cast<int8_t>(i - 16));
    b[36 + i] = static_cast<std::byte>(static_cast<int8_t>(i == 0 ? -128 : 127 - i));
  }
  const auto y = dequantized(DType::Q8_0, b, 64);
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(y[i], (i - 16) * 0.25f) << i;
    EXPECT_EQ(y[32 + i], (i == 0 ? -128 : 127 - i) * -3.0f) << i;
  }
}

TEST(Dequantize, Q4_KKnownBlock) {
  // Scales and mins above 15 exercise the packed top bits.
  const int sc[8] = {1, 2, 17, 63, 5, 33, 48, 60};
  const int mn[8] = {0, 3, 20, 63, 7, 40, 50, 61};
  std::vector<std::byte> b(144);
  put_half(b, 0, 0.25f);   // d
  put_half(b, 2, 0.125f);  // dmin
  uint8_t s[12] = {};
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
  std::memcpy(b.data() + 4, s, 12);
  auto nibble = [](int v) { return (v * 7 + 3) % 16; };  // some quant of value v
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      b[16 + 32 * c + l] = static_cast<std::byte>(nibble(64 * c + l) | (nibble(64 * c + 32 + l) << 4));
  const auto y = dequantized(DType::Q4_K, b, 256);
  for (int v = 0; v < 256; ++v) {
    const int j = v / 32;
    EXPECT_EQ(y[v], 0.25f * sc[j] * nibble(v) - 0.125f * mn[j]) << v;
  }
}

TEST(Dequantize, Q6_KKnownBlock) {
  std::vector<std::byte> b(210);
  auto quant = [](int v) { return (v * 37 + 11) % 64 - 32; };  // in [-32, 31]
  auto scale = [](int j) { return j * 17 - 128; };              // signed, -128..127
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int u[4] = {quant(128 * h + l) + 32, quant(128 * h + l + 32) + 32, quant(128 * h + l + 64) + 32,
                        quant(128 * h + l + 96) + 32};
      b[64 * h + l] = static_cast<std::byte>((u[0] & 15) | ((u[2] & 15) << 4));
      b[64 * h + l + 32] = static_cast<std::byte>((u[1] & 15) | ((u[3] & 15) << 4));
      b[128 + 32 * h + l] =
          static_cast<std::byte>((u[0] >> 4) | ((u[1] >> 4) << 2) | ((u[2] >> 4) << 4) | ((u[3] >> 4) << 6));
    }
  }
  for (int j = 0; j < 16; ++j) b[192 + j] = static_cast<std::byte>(static_cast<int8_t>(std::min(scale(j), 127)));
  put_half(b, 208, 0.5f);
  const auto y = dequantized(DType::Q6_K, b, 256);
  for (int v = 0; v < 256; ++v) EXPECT_EQ(y[v], 0.5f * std::min(scale(v / 16), 127) * quant(v)) << v;
}

TEST(Dequantize, HalfRowsKeepSpecialValues) {
  const uint16_t h[] = {0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xC000};
  for (DType type : {DType::F16, DType::BF16}) {
    std::vector<std::byte> b(sizeof h);
    std::memcpy(b.data(), h, sizeof h);
    const int64_t n = std::size(h);
    for_each_simd_target([&] {
      const auto y = dequantized(type, b, n);
      for (int64_t i = 0; i < n; ++i) {
        const float want = type == DType::F16 ? fp16_to_f32(h[i]) : bf16_to_f32(h[i]);
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(y[i])) << i;
        } else {
          EXPECT_EQ(y[i], want) << i;
        }
      }
    });
  }
}

// Random bytes with valid (finite) scales, so every bit pattern of the quants
// is exercised, not only those a quantizer produces.
std::vector<std::byte> random_blocks(DType type, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> b(dtype_row_bytes(type, n));
  for (auto& x : b) x = static_cast<std::byte>(rng() & 0xFF);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  const size_t bytes = static_cast<size_t>(dtype_block_bytes(type));
  for (size_t off = 0; off < b.size(); off += bytes) {
    switch (type) {
      case DType::Q8_0:
      case DType::Q4_0: put_half(b, off, dist(rng)); break;
      case DType::Q4_K: put_half(b, off, dist(rng)); put_half(b, off + 2, std::fabs(dist(rng))); break;
      case DType::Q6_K: put_half(b, off + 208, dist(rng)); break;
      case DType::F16: put_half(b, off, dist(rng) * 100.0f); break;
      default: break;
    }
  }
  return b;
}

TEST(Dequantize, SimdEqualsReferenceBitForBit) {
  for (DType type : kAllTypes) {
    SCOPED_TRACE(dtype_name(type));
    for (int64_t n : {32, 96, 256, 768, 2816, 1, 3, 7, 17, 100, 1023}) {
      if (!dtype_row_ok(type, n)) continue;
      const auto bytes = random_blocks(type, n, static_cast<uint32_t>(n));
      std::vector<float> want(static_cast<size_t>(n));
      dequantize_row_reference(type, bytes.data(), want.data(), n);
      for_each_simd_target([&] {
        const auto got = dequantized(type, bytes, n);
        ASSERT_TRUE(same_bits(got.data(), want.data(), n)) << "n=" << n;
      });
    }
  }
}

// Upper bounds on the relative RMS error of quantize -> dequantize for unit
// Gaussian data; each sits about 10 % above what the quantizer achieves
// (measured: F16 2.0e-4, BF16 1.7e-3, Q8_0 5.5e-3, Q6_K 1.69e-2, Q4_K 7.05e-2,
// Q4_0 8.8e-2), so a worse scale search (or a layout slip) fails.
struct RoundTripCase {
  DType type;
  double max_error;
};

class RoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, ErrorWithinBound) {
  const auto [type, bound] = GetParam();
  for (int64_t n : {256, 768, 2816, 4096}) {
    const auto x = random_floats(n, 1234 + static_cast<uint32_t>(n));
    std::vector<std::byte> q(dtype_row_bytes(type, n));
    quantize_row(type, x.data(), q.data(), n);
    const auto y = dequantized(type, q, n);
    const double err = relative_rms(y.data(), x.data(), n);
    EXPECT_LT(err, bound) << dtype_name(type) << " n=" << n;
    if (type != DType::F32) {
      EXPECT_GT(err, 0.0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTrip,
                         ::testing::Values(RoundTripCase{DType::F32, 1e-30}, RoundTripCase{DType::F16, 2.3e-4},
                                           RoundTripCase{DType::BF16, 1.9e-3}, RoundTripCase{DType::Q8_0, 6.2e-3},
                                           RoundTripCase{DType::Q6_K, 1.85e-2}, RoundTripCase{DType::Q4_K, 7.7e-2},
                                           RoundTripCase{DType::Q4_0, 9.6e-2}),
                         [](const auto& info) { return std::string(dtype_name(info.param.type)); });

TEST(Quantize, ZerosStayZero) {
  const std::vector<float> x(512, 0.0f);
  for (DType type : kAllTypes) {
    std::vector<std::byte> q(dtype_row_bytes(type, 512));
    quantize_row(type, x.data(), q.data(), 512);
    const auto y = dequantized(type, q, 512);
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(type);
  }
}

TEST(Quantize, HardRowsStayAccurate) {
  // All negative, constant, a single outlier, a tiny scale, wildly different
  // sub-blocks: the cases where a min/scale search goes wrong.
  std::vector<std::vector<float>> rows;
  rows.push_back(std::vector<float>(256, -1.5f));
  rows.push_back(std::vector<float>(256, 3.0f));
  auto neg = random_floats(256, 5);
  for (auto& v : neg) v = -std::fabs(v) - 1.0f;
  rows.push_back(neg);
  auto outlier = random_floats(256, 6);
  outlier[77] = 40.0f;
  rows.push_back(outlier);
  rows.push_back(random_floats(256, 7, 1e-4f));
  auto mixed = random_floats(256, 8);
  for (int i = 0; i < 256; ++i) mixed[i] *= (i / 32) % 2 ? 100.0f : 0.01f;
  rows.push_back(mixed);
  // Bounds relative to each row's RMS, set by the outlier row (the others
  // do far better); a sign or min mistake gives errors of order 1.
  const std::pair<DType, double> bounds[] = {
      {DType::Q8_0, 0.015}, {DType::Q6_K, 0.045}, {DType::Q4_K, 0.11}, {DType::Q4_0, 0.15}};
  for (const auto& [type, bound] : bounds) {
    for (size_t r = 0; r < rows.size(); ++r) {
      std::vector<std::byte> q(dtype_row_bytes(type, 256));
      quantize_row(type, rows[r].data(), q.data(), 256);
      const auto y = dequantized(type, q, 256);
      const double err = relative_rms(y.data(), rows[r].data(), 256);
      EXPECT_LT(err, bound) << dtype_name(type) << " row " << r;
    }
  }
}

TEST(Quantize, Q8_0IsAFixedPointOfItsOwnValues) {
  // Values already on a Q8_0 grid (with some |q| = 127) quantize to themselves.
  const auto x = random_floats(1024, 9);
  std::vector<std::byte> q(dtype_row_bytes(DType::Q8_0, 1024)), q2(q.size());
  quantize_row(DType::Q8_0, x.data(), q.data(), 1024);
  const auto y = dequantized(DType::Q8_0, q, 1024);
  quantize_row(DType::Q8_0, y.data(), q2.data(), 1024);
  EXPECT_EQ(q, q2);
}

TEST(Quantize, Q4_0LargestMagnitudeMapsToMinusEight) {
  std::vector<float> x(32, 0.0f);
  for (int i = 0; i < 32; ++i) x[i] = 0.1f * (i - 10);  // largest magnitude: +2.1
  std::vector<std::byte> q(18);
  quantize_row(DType::Q4_0, x.data(), q.data(), 32);
  const auto y = dequantized(DType::Q4_0, q, 32);
  EXPECT_NEAR(y[31], 2.1f, 1e-3f);  // exact up to the f16 scale
  EXPECT_EQ(static_cast<int>(q[2 + 15]) >> 4, 0);  // value 31 is the high nibble of byte 15
}

}  // namespace
}  // namespace officina
