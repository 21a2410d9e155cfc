// Activation quantization: the scalar references of the Q8 and Q8K formats
// (quantized_activations.h) and the buffer that holds the quantized rows of
// one matmul. The Highway versions are in act_quant_kernels.cc and must give
// the same bytes.
#include "tensor/quantized_activations.h"

#include <cassert>
#include <cmath>

#include "tensor/half.h"
#include "tensor/kernels.h"

namespace officina {

namespace {

// Nearest integer, ties to even (the SIMD conversion's rounding), clamped to
// [lo, hi]; NaN gives 0 instead of an undefined conversion.
int nearest_clamped(float v, int lo, int hi) {
  if (!(v == v)) return 0;
  const float r = std::nearbyint(v);
  if (r <= static_cast<float>(lo)) return lo;
  if (r >= static_cast<float>(hi)) return hi;
  return static_cast<int>(r);
}

}  // namespace

std::optional<ActFormat> act_format_for(DType weight) {
  switch (weight) {
    case DType::Q8_0:
    case DType::Q4_0: return ActFormat::kQ8;
    case DType::Q4_K:
    case DType::Q6_K: return ActFormat::kQ8K;
    case DType::F32:
    case DType::F16:
    case DType::BF16: return std::nullopt;
  }
  return std::nullopt;
}

void quantize_act_q8_reference(const float* x, int64_t cols, int8_t* qs, float* d) {
  for (int64_t b = 0; b < cols / kActQ8Block; ++b, x += kActQ8Block, qs += kActQ8Block) {
    float amax = 0.0f;
    for (int i = 0; i < kActQ8Block; ++i) {
      const float a = std::fabs(x[i]);
      if (a > amax) amax = a;
    }
    // The product uses the f16 scale, the quants the exact 127 / amax.
    d[b] = half::half_to_float(half::float_to_half(amax / 127.0f));
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < kActQ8Block; ++i) qs[i] = static_cast<int8_t>(nearest_clamped(x[i] * id, -127, 127));
  }
}

void quantize_act_q8k_reference(const float* x, int64_t cols, int8_t* qs, float* d, int16_t* sums) {
  for (int64_t b = 0; b < cols / kActQ8KBlock; ++b, x += kActQ8KBlock, qs += kActQ8KBlock) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int i = 0; i < kActQ8KBlock; ++i) {
      const float a = std::fabs(x[i]);
      if (a > amax) {
        amax = a;
        max = x[i];
      }
    }
    int16_t* s = sums + b * (kActQ8KBlock / kActQ8KGroup);
    if (amax == 0.0f) {
      d[b] = 0.0f;
      for (int i = 0; i < kActQ8KBlock; ++i) qs[i] = 0;
      for (int g = 0; g < kActQ8KBlock / kActQ8KGroup; ++g) s[g] = 0;
      continue;
    }
    // The signed scale sends the largest-magnitude value to -127, whichever
    // its sign; every other quant is in [-127, 127] too.
    const float iscale = -127.0f / max;
    for (int i = 0; i < kActQ8KBlock; ++i) qs[i] = static_cast<int8_t>(nearest_clamped(iscale * x[i], -128, 127));
    for (int g = 0; g < kActQ8KBlock / kActQ8KGroup; ++g) {
      int sum = 0;
      for (int i = 0; i < kActQ8KGroup; ++i) sum += qs[g * kActQ8KGroup + i];
      s[g] = static_cast<int16_t>(sum);
    }
    d[b] = 1.0f / iscale;
  }
}

void QuantizedActivations::resize(ActFormat format, int64_t n, int64_t cols) {
  assert(cols % act_block(format) == 0);
  format_ = format;
  rows_ = n;
  cols_ = cols;
  qs_.resize(static_cast<size_t>(n * cols));
  d_.resize(static_cast<size_t>(n * (cols / act_block(format))));
  sums_.resize(format == ActFormat::kQ8K ? static_cast<size_t>(n * (cols / kActQ8KGroup)) : 0);
}

QuantizedActivations::MutableRow QuantizedActivations::mutable_row(int64_t i) {
  return {qs_.data() + i * cols_, d_.data() + i * (cols_ / act_block(format_)),
          format_ == ActFormat::kQ8K ? sums_.data() + i * (cols_ / kActQ8KGroup) : nullptr};
}

ActRow QuantizedActivations::row(int64_t i) const {
  return {qs_.data() + i * cols_, d_.data() + i * (cols_ / act_block(format_)),
          format_ == ActFormat::kQ8K ? sums_.data() + i * (cols_ / kActQ8KGroup) : nullptr};
}

void QuantizedActivations::quantize(ActFormat format, const float* x, int64_t n, int64_t cols, ThreadPool* pool) {
  resize(format, n, cols);
  auto one = [&](int64_t i) {
    const MutableRow r = mutable_row(i);
    if (format == ActFormat::kQ8)
      kernels::quantize_act_q8(x + i * cols, cols, r.qs, r.d);
    else
      kernels::quantize_act_q8k(x + i * cols, cols, r.qs, r.d, r.sums);
  };
  if (pool != nullptr && n > 1 && pool->size() > 1) {
    pool->run(n, [&](int64_t i, int) { one(i); });
  } else {
    for (int64_t i = 0; i < n; ++i) one(i);
  }
}

void QuantizedActivations::quantize_reference(ActFormat format, const float* x, int64_t n, int64_t cols) {
  resize(format, n, cols);
  for (int64_t i = 0; i < n; ++i) {
    const MutableRow r = mutable_row(i);
    if (format == ActFormat::kQ8)
      quantize_act_q8_reference(x + i * cols, cols, r.qs, r.d);
    else
      quantize_act_q8k_reference(x + i * cols, cols, r.qs, r.d, r.sums);
  }
}

}  // namespace officina
