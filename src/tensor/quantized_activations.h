// Internal: F32 activation rows quantized to int8 for the integer dot
// products of quantized weights (int_dot.h). The reference engine (llama.cpp)
// multiplies quantized weights with quantized activations, not with floats;
// officina does the same so that its logits follow the same numerics (and the
// dots run on integer multiply-adds).
//
// Two formats, picked by the weight type (act_format_for):
//   Q8  (Q8_0, Q4_0 weights): blocks of 32 values; d = max|x| / 127 rounded
//       to f16 (kept here as the float it rounds to), q = nearest-even of
//       x * (127 / max|x|) with the unrounded scale, so |q| <= 127.
//   Q8K (Q4_K, Q6_K weights): super-blocks of 256 values; max is the value of
//       largest magnitude (the first, if several), iscale = -127 / max,
//       q = min(127, nearest-even of x * iscale), so that value maps to -127;
//       d = 1 / iscale in float; plus the sum of every 16 quants (the K-quant
//       mins and offsets multiply them).
// An all-zero block gets d = 0 and q = 0. Non-finite inputs give unspecified
// (but defined) quants.
//
// Storage is one struct of arrays for all rows: row i's quants are
// qs[i*cols ...], its scales d[i*cols/block ...] and (Q8K) its sums
// sums[i*cols/16 ...].
// quantize() runs the Highway kernels, quantize_reference() the scalar code;
// they give identical bytes on every target (tested).
// Thread-safety: a QuantizedActivations is written by quantize() (which may
// use the pool) and then only read, from any number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/aligned_allocator.h"
#include "base/thread_pool.h"
#include "tensor/dtype.h"

namespace officina {

enum class ActFormat {
  kQ8,   // blocks of 32
  kQ8K,  // super-blocks of 256, sums per 16
};

constexpr int64_t kActQ8Block = 32;
constexpr int64_t kActQ8KBlock = 256;
constexpr int64_t kActQ8KGroup = 16;  // values per sum in Q8K

// The activation format a weight type is multiplied with, or nullopt for the
// float types (F32, F16, BF16), which multiply F32 activations directly.
std::optional<ActFormat> act_format_for(DType weight);

// Values per scale d.
inline int64_t act_block(ActFormat f) { return f == ActFormat::kQ8 ? kActQ8Block : kActQ8KBlock; }

// One quantized row: cols quants, cols / act_block scales and (Q8K only;
// nullptr for Q8) cols / 16 sums.
struct ActRow {
  const int8_t* qs = nullptr;
  const float* d = nullptr;
  const int16_t* sums = nullptr;
};

class QuantizedActivations {
 public:
  // Quantizes n rows of cols values (cols a multiple of act_block(format)).
  // With a pool and n > 1 the rows are split over it; the bytes do not depend
  // on that. Reuses the buffers of earlier calls.
  void quantize(ActFormat format, const float* x, int64_t n, int64_t cols, ThreadPool* pool = nullptr);
  void quantize_reference(ActFormat format, const float* x, int64_t n, int64_t cols);

  ActFormat format() const { return format_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  ActRow row(int64_t i) const;

 private:
  struct MutableRow {
    int8_t* qs;
    float* d;
    int16_t* sums;
  };
  void resize(ActFormat format, int64_t n, int64_t cols);
  MutableRow mutable_row(int64_t i);

  ActFormat format_ = ActFormat::kQ8;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  AlignedVector<int8_t> qs_;  // rows on whole lines when cols % 64 == 0
  std::vector<float> d_;
  std::vector<int16_t> sums_;
};

// Scalar references for one row (dst arrays sized as in ActRow).
void quantize_act_q8_reference(const float* x, int64_t cols, int8_t* qs, float* d);
void quantize_act_q8k_reference(const float* x, int64_t cols, int8_t* qs, float* d, int16_t* sums);

}  // namespace officina
