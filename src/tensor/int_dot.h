// Internal: dot products of quantized weight rows with quantized activation
// rows (quantized_activations.h), the numerics of the reference engine.
// Q8_0 and Q4_0 rows pair with Q8 activations, Q4_K and Q6_K rows with Q8K.
//
// The arithmetic (the scalar reference defines it; the Highway kernels in
// int_dot_kernels.cc follow it):
//   Q8_0, Q4_0: per block of 32, the exact integer sum of w_q * x_q (w_q the
//     Q8_0 quant, or nibble - 8), then sum += (d_w * d_x) * float(isum), the
//     scale product exact in float (two f16 values).
//   Q4_K: per super-block, isum = sum over the 8 sub-blocks j of sc[j] * the
//     integer dot of the nibbles with x_q, msum = sum of m[j] * (the sum of
//     the sub-block's 32 x quants, from the per-16 sums); then
//     sum += (d * d_x) * float(isum); sum -= (dmin * d_x) * float(msum).
//   Q6_K: per super-block, isum = sum over the 16 sub-blocks s of
//     scales[s] * (the integer dot of the 6-bit quants with x_q - 32 * the
//     sub-block's x sum); then sum += (d * d_x) * float(isum).
// Every integer sum is exact in int32. K-quant kernels reduce each
// super-block to one integer and update the float sum exactly as above, so
// they equal the reference bit for bit on every target; Q8_0 / Q4_0 kernels
// accumulate (d_w * d_x) * isum in vector lanes (fused multiply-add), so they
// differ from it by float rounding only (about 1e-7 of sum |w x|).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"
#include "tensor/quantized_activations.h"

namespace officina {

// True for the weight types with an integer dot (Q8_0, Q4_0, Q4_K, Q6_K).
inline bool has_int_dot(DType weight) { return act_format_for(weight).has_value(); }

// dot(row, x) for a stored row of `cols` values of type `type` (has_int_dot)
// and an activation row quantized in act_format_for(type).
float int_dot(DType type, const std::byte* row, const ActRow& x, int64_t cols);
// The scalar reference of int_dot.
float int_dot_reference(DType type, const std::byte* row, const ActRow& x, int64_t cols);

}  // namespace officina
