// Helpers shared by the tensor tests: seeded random data, relative errors and
// a loop that runs a test body once per SIMD target the CPU supports, so the
// SSE4/AVX2/AVX3 (and emulated) variants of every kernel are all checked.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include "tensor/dtype.h"
#include "tensor/quantize.h"

namespace officina::test {

inline std::vector<float> random_floats(int64_t n, uint32_t seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// n values of `type` quantized from Gaussian data.
inline std::vector<std::byte> random_row(DType type, int64_t n, uint32_t seed) {
  const auto values = random_floats(n, seed);
  std::vector<std::byte> row(dtype_row_bytes(type, n));
  quantize_row(type, values.data(), row.data(), n);
  return row;
}

// sqrt(sum (a-b)^2 / sum b^2)
inline double relative_rms(const float* a, const float* b, int64_t n) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(a[i]) - b[i];
    num += e * e;
    den += static_cast<double>(b[i]) * b[i];
  }
  return den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
}

inline bool same_bits(const float* a, const float* b, int64_t n) {
  return std::memcmp(a, b, static_cast<size_t>(n) * sizeof(float)) == 0;
}

// Calls body() once per SIMD target that is both compiled in and supported
// by this CPU, with the dispatcher forced to that target. AVX3_DL is compiled
// only into the kernel files that opt in (int_dot_kernels.cc); while it is
// forced, AVX3 stays allowed so that the other files run AVX3, not scalar.
template <class Body>
void for_each_simd_target(Body body) {
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  if ((hwy::SupportedTargets() & HWY_AVX3_DL) && !(HWY_TARGETS & HWY_AVX3_DL))
    targets.insert(targets.begin(), HWY_AVX3_DL);
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target == HWY_AVX3_DL ? (HWY_AVX3_DL | HWY_AVX3) : target);
    SCOPED_TRACE(hwy::TargetName(target));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

inline bool is_block_type(DType t) { return dtype_block_size(t) > 1; }

constexpr DType kAllTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0,
                               DType::Q4_0, DType::Q4_K, DType::Q6_K};

}  // namespace officina::test
