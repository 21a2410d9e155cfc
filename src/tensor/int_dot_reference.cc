// Scalar reference of the integer dot products (int_dot.h): the numerics of
// the quantized matmul, written as plainly as possible. The Highway kernels
// (int_dot_kernels.cc) must give the same integers per (sub-)block and, for
// the K-quants, the same float sums bit for bit.
#include <cassert>

#include "tensor/blocks.h"
#include "tensor/int_dot.h"

namespace officina {

namespace {

using namespace blocks;

template <class Block>
const Block* block_at(const std::byte* base, int64_t b) {
  return reinterpret_cast<const Block*>(base + b * static_cast<int64_t>(sizeof(Block)));
}

float dot_q8_0(const std::byte* w, const ActRow& x, int64_t cols) {
  float sum = 0.0f;
  for (int64_t b = 0; b < cols / kQ8_0; ++b) {
    const auto* blk = block_at<BlockQ8_0>(w, b);
    const int8_t* xq = x.qs + b * kQ8_0;
    int32_t isum = 0;
    for (int i = 0; i < kQ8_0; ++i) isum += blk->qs[i] * xq[i];
    sum += (half::load_half(blk->d) * x.d[b]) * static_cast<float>(isum);
  }
  return sum;
}

float dot_q4_0(const std::byte* w, const ActRow& x, int64_t cols) {
  float sum = 0.0f;
  for (int64_t b = 0; b < cols / kQ4_0; ++b) {
    const auto* blk = block_at<BlockQ4_0>(w, b);
    const int8_t* xq = x.qs + b * kQ4_0;
    int32_t isum = 0;
    for (int i = 0; i < kQ4_0 / 2; ++i) {
      isum += ((blk->qs[i] & 15) - 8) * xq[i];
      isum += ((blk->qs[i] >> 4) - 8) * xq[i + kQ4_0 / 2];
    }
    sum += (half::load_half(blk->d) * x.d[b]) * static_cast<float>(isum);
  }
  return sum;
}

float dot_q4_k(const std::byte* w, const ActRow& x, int64_t cols) {
  float sum = 0.0f;
  for (int64_t b = 0; b < cols / kSuper; ++b) {
    const auto* blk = block_at<BlockQ4_K>(w, b);
    const int8_t* xq = x.qs + b * kSuper;
    const int16_t* xs = x.sums + b * (kSuper / 16);
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(blk->scales, sc, m);
    int32_t isum = 0, msum = 0;
    for (int c = 0; c < 4; ++c) {
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        lo += (blk->qs[32 * c + l] & 15) * xq[64 * c + l];
        hi += (blk->qs[32 * c + l] >> 4) * xq[64 * c + 32 + l];
      }
      isum += sc[2 * c] * lo + sc[2 * c + 1] * hi;
    }
    for (int j = 0; j < 8; ++j) msum += m[j] * (xs[2 * j] + xs[2 * j + 1]);
    const float dx = x.d[b];
    sum += (half::load_half(blk->d) * dx) * static_cast<float>(isum);
    sum -= (half::load_half(blk->dmin) * dx) * static_cast<float>(msum);
  }
  return sum;
}

float dot_q6_k(const std::byte* w, const ActRow& x, int64_t cols) {
  float sum = 0.0f;
  for (int64_t b = 0; b < cols / kSuper; ++b) {
    const auto* blk = block_at<BlockQ6_K>(w, b);
    const int16_t* xs = x.sums + b * (kSuper / 16);
    int32_t isum = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = blk->ql + 64 * h;
      const uint8_t* qh = blk->qh + 32 * h;
      const int8_t* xq = x.qs + b * kSuper + 128 * h;
      int32_t dots[8] = {};  // per sub-block of 16 in this half
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        dots[s] += ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) * xq[l];
        dots[s + 2] += ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) * xq[l + 32];
        dots[s + 4] += ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) * xq[l + 64];
        dots[s + 6] += ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) * xq[l + 96];
      }
      for (int s = 0; s < 8; ++s) isum += blk->scales[8 * h + s] * (dots[s] - 32 * xs[8 * h + s]);
    }
    sum += (half::load_half(blk->d) * x.d[b]) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace

float int_dot_reference(DType type, const std::byte* row, const ActRow& x, int64_t cols) {
  assert(dtype_row_ok(type, cols));
  switch (type) {
    case DType::Q8_0: return dot_q8_0(row, x, cols);
    case DType::Q4_0: return dot_q4_0(row, x, cols);
    case DType::Q4_K: return dot_q4_k(row, x, cols);
    case DType::Q6_K: return dot_q6_k(row, x, cols);
    case DType::F32:
    case DType::F16:
    case DType::BF16: break;
  }
  assert(false && "int_dot_reference: no integer dot for this type");
  return 0.0f;
}

}  // namespace officina
