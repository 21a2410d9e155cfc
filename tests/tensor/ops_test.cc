// The ops of ops.h against the double-precision references of
// ops_reference.h on every SIMD target, plus RoPE layout equivalence and the
// edge cases of softmax and swiglu.
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include "tensor/ops.h"
#include "tensor/quantize.h"
#include "tensor/ops_reference.h"
#include "tensor_test_util.h"

namespace officina {
namespace {

using test::for_each_simd_target;
using test::random_floats;

constexpr int64_t kSizes[] = {1, 3, 7, 17, 100, 1023, 4096};

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, double abs) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], abs + rel * std::fabs(want[i])) << "index " << i;
}

TEST(SimdTargets, DispatchFollowsTheForcedTarget) {
  std::set<std::string> seen;
  for_each_simd_target([&] { seen.insert(simd_target_name()); });
  std::set<std::string> expected;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) expected.insert(hwy::TargetName(t));
  EXPECT_EQ(seen, expected);
  EXPECT_GE(seen.size(), 2u) << "expected at least the baseline and one SIMD target";
}

TEST(Ops, DotF32MatchesReference) {
  for (int64_t n : kSizes) {
    const auto a = random_floats(n, 1);
    const auto b = random_floats(n, 2);
    const double want = dot_f32_reference(a.data(), b.data(), n);
    double abs_sum = 0.0;
    for (int64_t i = 0; i < n; ++i) abs_sum += std::fabs(static_cast<double>(a[i]) * b[i]);
    for_each_simd_target([&] { EXPECT_NEAR(dot_f32(a.data(), b.data(), n), want, 5e-7 * abs_sum) << n; });
  }
}

TEST(Ops, AxpyMatchesReference) {
  for (int64_t n : kSizes) {
    const auto x = random_floats(n, 3);
    const auto y0 = random_floats(n, 4);
    auto want = y0;
    axpy_reference(0.37f, x.data(), want.data(), n);
    for_each_simd_target([&] {
      auto got = y0;
      axpy(0.37f, x.data(), got.data(), n);
      expect_close(got, want, 1e-6, 1e-7);
    });
  }
}

TEST(Ops, RoundToFp16EqualsTheScalarConversion) {
  // Random values over the whole f16 range and beyond, ties, subnormals,
  // overflow, infinities and NaNs, at sizes with vector tails.
  auto x = random_floats(4099, 41, 3000.0f);
  for (size_t i = 0; i < x.size(); i += 7) x[i] *= 1e-6f;
  for (size_t i = 3; i < x.size(); i += 11) x[i] *= 1e-3f;
  const float specials[] = {0.0f, -0.0f, 65504.0f, 65520.0f, -65519.99f, 1e9f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f,
                            1.0f + 0x1p-11f, 1.0f + 0x3p-11f, std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN()};
  for (size_t i = 0; i < std::size(specials); ++i) x[100 + i] = specials[i];
  std::vector<float> want = x;
  for (float& v : want) v = fp16_to_f32(f32_to_fp16(v));
  for (int64_t n : {int64_t{1}, int64_t{17}, static_cast<int64_t>(x.size())}) {
    for_each_simd_target([&] {
      std::vector<float> got(x.begin(), x.begin() + n);
      round_to_fp16(got.data(), n);
      EXPECT_TRUE(test::same_bits(got.data(), want.data(), n)) << n;
    });
  }
}

TEST(Ops, RmsNormMatchesReference) {
  for (int64_t n : kSizes) {
    const auto x = random_floats(n, 5, 3.0f);
    const auto w = random_floats(n, 6);
    std::vector<float> want(static_cast<size_t>(n));
    rms_norm_reference(x.data(), w.data(), want.data(), n, 1e-5f);
    for_each_simd_target([&] {
      std::vector<float> got(static_cast<size_t>(n));
      rms_norm(x.data(), w.data(), got.data(), n, 1e-5f);
      expect_close(got, want, 2e-6, 1e-7);
      auto in_place = x;  // out may alias x
      rms_norm(in_place.data(), w.data(), in_place.data(), n, 1e-5f);
      EXPECT_TRUE(test::same_bits(in_place.data(), got.data(), n));
    });
  }
}

TEST(Ops, RmsNormEpsilonMatters) {
  const std::vector<float> x(8, 1e-3f), w(8, 1.0f);
  std::vector<float> y(8);
  rms_norm(x.data(), w.data(), y.data(), 8, 1e-6f);  // mean square 1e-6: scale 1/sqrt(2e-6)
  EXPECT_NEAR(y[0], 1e-3 / std::sqrt(2e-6), 1e-5);
}

TEST(Ops, SoftmaxMatchesReference) {
  for (int64_t n : kSizes) {
    const auto x = random_floats(n, 7, 4.0f);
    auto want = x;
    softmax_reference(want.data(), n);
    for_each_simd_target([&] {
      auto got = x;
      softmax(got.data(), n);
      // A float sum over n terms is off by ~sqrt(n) ulps; all outputs share it.
      expect_close(got, want, 1e-5, 1e-12);
      double sum = 0.0;
      for (float v : got) sum += v;
      EXPECT_NEAR(sum, 1.0, 1e-5);
    });
  }
}

TEST(Ops, SoftmaxMaskedEntriesAreZero) {
  const float inf = std::numeric_limits<float>::infinity();
  for_each_simd_target([&] {
    std::vector<float> x = {1.0f, -inf, 2.0f, -inf, -inf, 0.5f, -inf, -inf, -inf, 3.0f, -200.0f, -inf, 1000.0f, -inf, 1000.0f, -inf, -inf};
    softmax(x.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_FALSE(std::isnan(x[i])) << i;
      if (i != 12 && i != 14) {
        EXPECT_EQ(x[i], 0.0f) << i;  // everything else is e^-997 or less
      }
    }
    EXPECT_FLOAT_EQ(x[12], 0.5f);
    EXPECT_FLOAT_EQ(x[14], 0.5f);
  });
}

TEST(Ops, SwigluMatchesReference) {
  for (int64_t n : kSizes) {
    const auto g = random_floats(n, 8, 3.0f);
    const auto u = random_floats(n, 9);
    std::vector<float> want(static_cast<size_t>(n));
    swiglu_reference(g.data(), u.data(), want.data(), n);
    for_each_simd_target([&] {
      std::vector<float> got(static_cast<size_t>(n));
      swiglu(g.data(), u.data(), got.data(), n);
      expect_close(got, want, 4e-6, 1e-30);
    });
  }
}

TEST(Ops, SwigluExtremeGates) {
  const std::vector<float> g = {-1e30f, -1000.0f, -100.0f, -88.0f, 0.0f, 88.0f, 100.0f, 1000.0f, 1e30f};
  const std::vector<float> u(g.size(), 2.0f);
  for_each_simd_target([&] {
    std::vector<float> y(g.size());
    swiglu(g.data(), u.data(), y.data(), static_cast<int64_t>(g.size()));
    for (size_t i = 0; i < g.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << g[i];
      if (g[i] <= -100.0f) {
        EXPECT_NEAR(y[i], 0.0f, 1e-36f) << g[i];
      }
      if (g[i] >= 88.0f) {
        EXPECT_FLOAT_EQ(y[i], 2.0f * g[i]) << g[i];
      }
    }
    EXPECT_EQ(y[4], 0.0f);
  });
}

TEST(Rope, MatchesReferenceAtManyPositions) {
  for (int64_t head_dim : {2, 8, 64, 128}) {
    for (int64_t pos : {0, 1, 7, 1000, 131071}) {
      for (float theta : {10000.0f, 1e6f}) {
        const auto x = random_floats(head_dim, 10);
        auto got = x, want = x;
        rope_interleaved(got.data(), head_dim, pos, theta);
        rope_interleaved_reference(want.data(), head_dim, pos, theta);
        expect_close(got, want, 1e-6, 1e-6);
        got = x;
        want = x;
        rope_half(got.data(), head_dim, pos, theta);
        rope_half_reference(want.data(), head_dim, pos, theta);
        expect_close(got, want, 1e-6, 1e-6);
      }
    }
  }
}

TEST(Rope, PositionZeroIsIdentityAndNormIsKept) {
  const auto x = random_floats(64, 11);
  auto y = x;
  rope_interleaved(y.data(), 64, 0, 10000.0f);
  EXPECT_EQ(y, x);
  rope_half(y.data(), 64, 12345, 10000.0f);
  double before = 0.0, after = 0.0;
  for (int i = 0; i < 64; ++i) {
    before += static_cast<double>(x[i]) * x[i];
    after += static_cast<double>(y[i]) * y[i];
  }
  EXPECT_NEAR(after, before, 1e-5 * before);
}

TEST(Rope, KnownAngles) {
  // head_dim 4: pair 0 rotates by pos, pair 1 by pos * theta^(-1/2).
  std::vector<float> x = {1.0f, 0.0f, 1.0f, 0.0f};
  rope_interleaved(x.data(), 4, 3, 100.0f);
  EXPECT_NEAR(x[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(x[1], std::sin(3.0), 1e-6);
  EXPECT_NEAR(x[2], std::cos(0.3), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.3), 1e-6);
}

TEST(Rope, InterleavedEqualsHalfUnderPairPermutation) {
  // GGUF stores q/k rows permuted so that HF's pair (i, i + d/2) sits at
  // (2i, 2i + 1); rotating either layout gives the same numbers, exactly.
  for (int64_t head_dim : {2, 6, 64, 128}) {
    const int64_t half = head_dim / 2;
    for (int64_t pos : {1, 17, 4000}) {
      const auto hf = random_floats(head_dim, 12);
      std::vector<float> gguf(static_cast<size_t>(head_dim));
      for (int64_t i = 0; i < half; ++i) {
        gguf[2 * i] = hf[i];
        gguf[2 * i + 1] = hf[i + half];
      }
      auto hf_rot = hf;
      rope_half(hf_rot.data(), head_dim, pos, 10000.0f);
      rope_interleaved(gguf.data(), head_dim, pos, 10000.0f);
      for (int64_t i = 0; i < half; ++i) {
        ASSERT_EQ(gguf[2 * i], hf_rot[i]);
        ASSERT_EQ(gguf[2 * i + 1], hf_rot[i + half]);
      }
    }
  }
}

TEST(Rope, CacheDoesNotLeakBetweenKeys) {
  // Alternate keys so that a stale cache would show.
  const auto x = random_floats(16, 13);
  for (int round = 0; round < 3; ++round) {
    for (auto [dim, pos, theta] : {std::tuple{16, 5, 10000.0f}, {16, 6, 10000.0f}, {8, 5, 10000.0f}, {16, 5, 500.0f}}) {
      auto got = x, want = x;
      rope_interleaved(got.data(), dim, pos, theta);
      rope_interleaved_reference(want.data(), dim, pos, theta);
      got.resize(static_cast<size_t>(dim));
      want.resize(static_cast<size_t>(dim));
      expect_close(got, want, 1e-6, 1e-6);
    }
  }
}

}  // namespace
}  // namespace officina
