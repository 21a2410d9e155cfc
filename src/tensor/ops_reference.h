// Scalar references of the ops in ops.h: plain loops accumulating in double,
// written for clarity, not speed. Tests compare the kernels against them;
// production code calls ops.h.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace officina {

void rms_norm_reference(const float* x, const float* weight, float* out, int64_t n, float eps);
void rope_interleaved_reference(float* x, int64_t head_dim, int64_t pos, float theta);
void rope_half_reference(float* x, int64_t head_dim, int64_t pos, float theta);
void softmax_reference(float* x, int64_t n);
void swiglu_reference(const float* gate, const float* up, float* out, int64_t n);
void axpy_reference(float a, const float* x, float* y, int64_t n);
double dot_f32_reference(const float* a, const float* b, int64_t n);

}  // namespace officina
