// Element-wise and normalisation ops of the Llama block, on F32 rows.
// dot_f32, axpy, rms_norm, softmax, swiglu and round_to_fp16 are Highway kernels (runtime
// dispatch); the RoPE functions are scalar with the angles computed in double
// and cached per thread for the last (head_dim, pos, theta) seen, so rotating
// every head of one token costs one set of sin/cos. Scalar references of all
// of them are in ops_reference.h.
// Thread-safety: pure functions (the RoPE cache is thread_local).
#pragma once

#include <cstdint>

namespace officina {

// out = x / sqrt(mean(x²) + eps) * weight, over n values (out may alias x).
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);

// RoPE on one head vector of head_dim (even) values at position pos, in the
// GGUF (interleaved) layout: pairs (x[2i], x[2i+1]) rotate by the angle
// pos * theta^(-2i/d), i the pair index, d = head_dim:
//   (a, b) -> (a cos - b sin, a sin + b cos).
void rope_interleaved(float* x, int64_t head_dim, int64_t pos, float theta);
// The Hugging Face (rotate-half) layout: pairs (x[i], x[i + d/2]), same angles.
void rope_half(float* x, int64_t head_dim, int64_t pos, float theta);

// In-place softmax over n values (max-subtracted). Masked entries may hold
// -inf (they become exactly 0); at least one entry must be finite.
void softmax(float* x, int64_t n);
// out[i] = silu(gate[i]) * up[i] (out may alias gate or up)
void swiglu(const float* gate, const float* up, float* out, int64_t n);
// y[i] += a * x[i]
void axpy(float a, const float* x, float* y, int64_t n);
// sum a[i] * b[i] in float (lane-parallel order)
float dot_f32(const float* a, const float* b, int64_t n);
// x[i] = x[i] rounded to the nearest binary16 value (ties to even, too large
// to inf, NaN kept) and widened back: what an f16 KV cache (llama.cpp's
// default) stores. Equal to fp16_to_f32(f32_to_fp16(x[i])) bit for bit.
void round_to_fp16(float* x, int64_t n);

// Name of the SIMD target the kernels run on ("AVX3", "AVX2", "SSE4", ...),
// for logs and benchmarks.
const char* simd_target_name();

}  // namespace officina
