// float16 / bfloat16 conversions: exact values, rounding ties, the edges of
// the range, subnormals and NaN; plus an exhaustive round trip of every f16
// and, where the CPU has F16C, agreement with the hardware on random floats.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include <gtest/gtest.h>
#include <immintrin.h>

#include "tensor/quantize.h"

namespace officina {
namespace {

float bits_to_float(uint32_t b) { return std::bit_cast<float>(b); }

TEST(Fp16, ExactValues) {
  EXPECT_EQ(f32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_fp16(0.5f), 0x3800);
  EXPECT_EQ(f32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(fp16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(fp16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(fp16_to_f32(0xC000), -2.0f);
  EXPECT_TRUE(std::signbit(fp16_to_f32(0x8000)));
}

TEST(Fp16, OverflowRoundsToInfinity) {
  EXPECT_EQ(f32_to_fp16(65519.99f), 0x7BFF);  // below the halfway point
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7C00);   // halfway, 65504 is odd: up to inf
  EXPECT_EQ(f32_to_fp16(1e6f), 0x7C00);
  EXPECT_EQ(f32_to_fp16(-1e6f), 0xFC00);
  EXPECT_EQ(f32_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(f32_to_fp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(fp16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_f32(0xFC00), -std::numeric_limits<float>::infinity());
}

TEST(Fp16, TiesToEven) {
  // 1 + 2^-11 is halfway between 1 (even) and 1 + 2^-10 (odd): down.
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1p-11f), 0x3C00);
  // 1 + 3*2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): up.
  EXPECT_EQ(f32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3C02);
  // Just above the tie rounds up.
  EXPECT_EQ(f32_to_fp16(std::nextafter(1.0f + 0x1p-11f, 2.0f)), 0x3C01);
  // A carry out of the mantissa bumps the exponent: 2 - 2^-12 -> 2.
  EXPECT_EQ(f32_to_fp16(2.0f - 0x1p-12f), 0x4000);
}

TEST(Fp16, Subnormals) {
  EXPECT_EQ(f32_to_fp16(0x1p-24f), 0x0001);          // smallest subnormal
  EXPECT_EQ(fp16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(fp16_to_f32(0x03FF), 1023 * 0x1p-24f);   // largest subnormal
  EXPECT_EQ(f32_to_fp16(1023 * 0x1p-24f), 0x03FF);
  EXPECT_EQ(f32_to_fp16(0x1p-14f), 0x0400);          // smallest normal
  EXPECT_EQ(f32_to_fp16(0x1p-25f), 0x0000);          // tie between 0 and 1 ulp: even
  EXPECT_EQ(f32_to_fp16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_fp16(3 * 0x1p-25f), 0x0002);      // tie between 1 and 2: even
  EXPECT_EQ(f32_to_fp16(5 * 0x1p-25f), 0x0002);      // tie between 2 and 3: even
  EXPECT_EQ(f32_to_fp16(1023.5f * 0x1p-24f), 0x0400);  // rounds into the normals
  EXPECT_EQ(f32_to_fp16(-0x1p-24f), 0x8001);
  EXPECT_EQ(f32_to_fp16(1e-10f), 0x0000);
  EXPECT_EQ(f32_to_fp16(bits_to_float(0x00000001)), 0x0000);  // float subnormal
}

TEST(Fp16, NanStaysNan) {
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(f32_to_fp16(qnan) & 0x7C00, 0x7C00);
  EXPECT_NE(f32_to_fp16(qnan) & 0x03FF, 0);
  // A signalling NaN whose payload lies only in the bits that are cut off.
  const uint16_t h = f32_to_fp16(bits_to_float(0x7F800001));
  EXPECT_EQ(h & 0x7C00, 0x7C00);
  EXPECT_NE(h & 0x03FF, 0);
  EXPECT_EQ(f32_to_fp16(bits_to_float(0xFFC00000)) & 0x8000, 0x8000);  // sign kept
  EXPECT_TRUE(std::isnan(fp16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(fp16_to_f32(0x7C01)));
  EXPECT_TRUE(std::isnan(fp16_to_f32(0xFE00)));
}

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = fp16_to_f32(static_cast<uint16_t>(h));
    const bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0;
    if (nan) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_EQ(f32_to_fp16(f) & 0x7C00, 0x7C00) << std::hex << h;
    } else {
      ASSERT_EQ(f32_to_fp16(f), h) << std::hex << h;
    }
  }
}

// The hardware conversion (F16C, round to nearest even) is an independent
// oracle for every float, NaN payloads included.
__attribute__((target("f16c"))) uint16_t hardware_fp16(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }
__attribute__((target("f16c"))) float hardware_fp32(uint16_t h) { return _cvtsh_ss(h); }

TEST(Fp16, MatchesF16cOnRandomFloats) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "CPU without F16C";
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> all_bits;
  // Mostly floats near the f16 range, where rounding decides something.
  std::uniform_int_distribution<uint32_t> exponent(100, 145);
  for (int i = 0; i < 2'000'000; ++i) {
    uint32_t bits = all_bits(rng);
    if (i % 4 != 0) bits = (bits & 0x807FFFFFu) | (exponent(rng) << 23);
    const float f = bits_to_float(bits);
    ASSERT_EQ(f32_to_fp16(f), hardware_fp16(f)) << std::hex << bits;
  }
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const uint32_t ours = std::bit_cast<uint32_t>(fp16_to_f32(static_cast<uint16_t>(h)));
    const uint32_t theirs = std::bit_cast<uint32_t>(hardware_fp32(static_cast<uint16_t>(h)));
    ASSERT_EQ(ours, theirs) << std::hex << h;
  }
}

TEST(Bf16, ExactAndRounding) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3F80);      // tie, 1 is even: down
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);  // tie, odd below: up
  EXPECT_EQ(f32_to_bf16(std::nextafter(1.0f + 0x1p-8f, 2.0f)), 0x3F81);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds to inf
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(f32_to_bf16(bits_to_float(0x00010000)), 0x0001);  // subnormals keep their bits
  EXPECT_EQ(f32_to_bf16(bits_to_float(0x00018000)), 0x0002);  // subnormal tie to even
}

TEST(Bf16, NanStaysNan) {
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // Payload only in the low 16 bits: truncating would give inf.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(bits_to_float(0x7F800001)))));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(bits_to_float(0xFF80FFFF)))));
}

TEST(Bf16, EveryBf16RoundTrips) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), h) << std::hex << h;
  }
}

}  // namespace
}  // namespace officina
