// Every function takes an optional ThreadPool for its element-wise work
// (results do not depend on the thread count).
// Forward and backward of the operations of a Llama block over one sequence
// of T tokens (llm.c style: one function per direction per op). Shapes are
// row-major [rows, cols]; gradients are accumulated (+=) into d-buffers
// unless a function says it overwrites. The forward functions match the
// inference engine's math in F32 (tensor/ops.h); each backward has a
// finite-difference test.
// Thread-safety: pure functions over caller-owned buffers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.h"

namespace officina {

// y[t] = x[t] / rms(x[t]) * w; rstd[t] = 1 / sqrt(mean(x[t]^2) + eps) is kept for backward.
void rms_norm_forward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t dim, float eps,
                      ThreadPool* pool = nullptr);
// dx += d(y)/dx · dy (w frozen).
void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* dy, float* dx, int64_t rows,
                       int64_t dim, ThreadPool* pool = nullptr);
// dw += d(y)/dw · dy summed over the rows: dw[i] += sum_t dy[t][i] · x[t][i] · rstd[t]
// (full-parameter training; dw [dim]).
void rms_norm_backward_weight(const float* x, const float* rstd, const float* dy, float* dw, int64_t rows,
                              int64_t dim, ThreadPool* pool = nullptr);

// Interleaved RoPE on every head of each row at positions pos[t] (in place).
void rope_forward(float* x, int64_t rows, int64_t heads, int64_t head_dim, const int32_t* pos, float theta,
                  ThreadPool* pool = nullptr);
// The transpose: rotates gradients back (in place).
void rope_backward(float* dx, int64_t rows, int64_t heads, int64_t head_dim, const int32_t* pos, float theta,
                   ThreadPool* pool = nullptr);

// h = silu(g) * u (elementwise over n).
void swiglu_forward(const float* g, const float* u, float* h, int64_t n, ThreadPool* pool = nullptr);
// dg, du overwritten.
void swiglu_backward(const float* g, const float* u, const float* dh, float* dg, float* du, int64_t n,
                     ThreadPool* pool = nullptr);

// Causal self-attention with grouped KV heads over one sequence: row t sees
// rows s <= t of the same segment (segment[t]; packing keeps samples apart)
// and, with window > 0, only s > t - window. q [T, heads*hd], k/v
// [T, kv_heads*hd], out [T, heads*hd]. probs [heads, T, T] is kept for backward.
struct AttentionShape {
  int64_t rows = 0, heads = 0, kv_heads = 0, head_dim = 0, window = 0;
};
// `pool` (optional) spreads the softmax rows over threads.
void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v, const int32_t* segment,
                       float* probs, float* out, ThreadPool* pool = nullptr);
// dq, dk, dv overwritten. `scratch` holds T floats per call (internal).
void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* probs,
                        const float* dout, float* dq, float* dk, float* dv, ThreadPool* pool = nullptr);

// Mean cross-entropy pieces: for each row t with target[t] >= 0, adds
// -log softmax(logits[t])[target[t]] to the returned sum and overwrites
// logits[t] with (softmax - onehot) * grad_scale (the gradient of
// grad_scale * loss_sum); rows without a target get zero gradient. Also
// counts rows whose argmax equals the target into `correct`.
double cross_entropy_forward_backward(float* logits, const int32_t* target, int64_t rows, int64_t vocab,
                                      float grad_scale, int64_t* correct, ThreadPool* pool = nullptr);

}  // namespace officina
