// Internal: entry points of the Highway kernels (files *_kernels.cc). Each
// file is compiled once per SIMD target through hwy/foreach_target.h; the
// functions below pick the best target the CPU supports at run time
// (HWY_DYNAMIC_DISPATCH). Callers check shapes; kernels assume them.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace officina {
struct ActRow;
}

namespace officina::kernels {

// ---- dot_kernels.cc: float rows ----
float dot_f32(const float* a, const float* b, int64_t n);
// Row of n f16 / bf16 values (raw bits) times n floats.
float dot_f16(const uint16_t* w, const float* x, int64_t n);
float dot_bf16(const uint16_t* w, const float* x, int64_t n);
// Prefill tiles: out[4*r + j] = dot(w[r], x[j]) for r < 2 (or 1), j < 4.
// Both tiles sum every output in the same order (not dot_f32's order).
void dot_f32_tile_2x4(const float* const w[2], const float* const x[4], int64_t n, float out[8]);
void dot_f32_tile_4x4(const float* const w[4], const float* const x[4], int64_t n, float out[16]);
void dot_f32_tile_1x4(const float* w, const float* const x[4], int64_t n, float out[4]);
void f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);

// ---- quant_kernels.cc: block types (cols a multiple of the block size) ----
// Dequantizes any non-F32 type; equals dequantize_row_reference bit for bit.
void dequantize(DType type, const std::byte* src, float* dst, int64_t n);

// ---- act_quant_kernels.cc: activation rows to Q8 / Q8K (quantized_activations.h) ----
void quantize_act_q8(const float* x, int64_t cols, int8_t* qs, float* d);
void quantize_act_q8k(const float* x, int64_t cols, int8_t* qs, float* d, int16_t* sums);

// ---- int_dot_kernels.cc: integer dots (int_dot.h) ----
// out[c] = int_dot(type, w, x[c], cols) for c < x_rows; each output has the
// same bits whatever x_rows is (four rows share each decoded weight block).
void int_dot_tile(DType type, const std::byte* w, const ActRow* x, int x_rows, int64_t cols, float* out);
// out[r * x_rows + c] = int_dot(type, w[r], x[c], cols) for r < w_rows <= 4,
// c < x_rows <= 4: a register tile, with the same bits as int_dot_tile.
void int_dot_tile_rows(DType type, const std::byte* const* w, int w_rows, const ActRow* x, int x_rows, int64_t cols,
                       float* out);

// ---- ops_kernels.cc ----
void axpy(float a, const float* x, float* y, int64_t n);
float sum_squares(const float* x, int64_t n);
// out[i] = (x[i] * scale) * weight[i]
void scale_mul(const float* x, float scale, const float* weight, float* out, int64_t n);
// x[i] = exp(x[i] - max), returns the sum of the new x.
float exp_shifted_sum(float* x, float max, int64_t n);
float max_value(const float* x, int64_t n);
void scale(float* x, float s, int64_t n);
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void round_to_f16(float* x, int64_t n);

// Name of the SIMD target the dispatcher picks now ("AVX3", "AVX2", ...).
const char* target_name();

}  // namespace officina::kernels
