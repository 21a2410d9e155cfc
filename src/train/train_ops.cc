#include "train/train_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/gemm.h"
#include "tensor/ops.h"

namespace officina {
namespace {
// Runs fn(begin, end) over [0, n) split in contiguous ranges on the pool.
template <class F>
void for_ranges(ThreadPool* pool, int64_t n, F&& fn) {
  if (!pool || n < 64) {
    fn(int64_t{0}, n);
    return;
  }
  pool->parallel_for(n, [&](int64_t begin, int64_t end, int) { fn(begin, end); });
}
}  // namespace

void rms_norm_forward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t dim, float eps,
                      ThreadPool* pool) {
  for_ranges(pool, rows, [&](int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const float* xr = x + t * dim;
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    float r = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(dim)) + eps);
    rstd[t] = r;
    float* yr = y + t * dim;
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * r * w[i];
  }
  });
}

void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* dy, float* dx, int64_t rows,
                       int64_t dim, ThreadPool* pool) {
  for_ranges(pool, rows, [&](int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const float* xr = x + t * dim;
    const float* dyr = dy + t * dim;
    const float r = rstd[t];
    double dot = 0;  // sum_j w_j dy_j x_j
    for (int64_t i = 0; i < dim; ++i) dot += static_cast<double>(w[i]) * dyr[i] * xr[i];
    const float c = static_cast<float>(dot / static_cast<double>(dim)) * r * r * r;
    float* dxr = dx + t * dim;
    for (int64_t i = 0; i < dim; ++i) dxr[i] += w[i] * dyr[i] * r - xr[i] * c;
  }
  });
}

void rms_norm_backward_weight(const float* x, const float* rstd, const float* dy, float* dw, int64_t rows,
                              int64_t dim, ThreadPool* pool) {
  // Split over columns so each thread owns its slice of dw (no reduction).
  for_ranges(pool, dim, [&](int64_t i0, int64_t i1) {
    std::vector<double> acc(static_cast<size_t>(i1 - i0), 0.0);
    for (int64_t t = 0; t < rows; ++t) {
      const float* xr = x + t * dim;
      const float* dyr = dy + t * dim;
      const double r = rstd[t];
      for (int64_t i = i0; i < i1; ++i) acc[static_cast<size_t>(i - i0)] += static_cast<double>(dyr[i]) * xr[i] * r;
    }
    for (int64_t i = i0; i < i1; ++i) dw[i] += static_cast<float>(acc[static_cast<size_t>(i - i0)]);
  });
}

namespace {
// cos/sin of pos * theta^(-2i/d) for every position up to the longest seen,
// computed as tensor/ops.cc does (in double), kept across calls: training
// rotates the same positions in every layer, forward and backward.
struct RopeTable {
  int64_t head_dim = -1;
  float theta = 0.0f;
  int64_t positions = 0;
  std::vector<float> cos, sin;  // [positions, head_dim / 2]
};

const RopeTable& rope_table(int64_t head_dim, float theta, int64_t positions) {
  thread_local RopeTable table;
  if (table.head_dim != head_dim || table.theta != theta || table.positions < positions) {
    const int64_t pairs = head_dim / 2;
    table.cos.resize(static_cast<size_t>(positions * pairs));
    table.sin.resize(static_cast<size_t>(positions * pairs));
    for (int64_t p = 0; p < positions; ++p)
      for (int64_t i = 0; i < pairs; ++i) {
        const double freq = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
        const double angle = static_cast<double>(p) * freq;
        table.cos[static_cast<size_t>(p * pairs + i)] = static_cast<float>(std::cos(angle));
        table.sin[static_cast<size_t>(p * pairs + i)] = static_cast<float>(std::sin(angle));
      }
    table.head_dim = head_dim;
    table.theta = theta;
    table.positions = positions;
  }
  return table;
}

// direction +1 rotates by the angle, -1 by its opposite (the transpose).
void rope_apply(float* x, int64_t rows, int64_t heads, int64_t head_dim, const int32_t* pos, float theta,
                float direction, ThreadPool* pool) {
  int64_t max_pos = 0;
  for (int64_t t = 0; t < rows; ++t) max_pos = std::max<int64_t>(max_pos, pos[t]);
  const RopeTable& table = rope_table(head_dim, theta, max_pos + 1);
  const int64_t pairs = head_dim / 2;
  for_ranges(pool, rows, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* c = &table.cos[static_cast<size_t>(pos[t] * pairs)];
      const float* sn = &table.sin[static_cast<size_t>(pos[t] * pairs)];
      for (int64_t h = 0; h < heads; ++h) {
        float* v = x + (t * heads + h) * head_dim;
        for (int64_t i = 0; i < pairs; ++i) {
          const float s = direction * sn[i];
          const float x0 = v[2 * i], x1 = v[2 * i + 1];
          v[2 * i] = x0 * c[i] - x1 * s;
          v[2 * i + 1] = x0 * s + x1 * c[i];
        }
      }
    }
  });
}
}  // namespace

void rope_forward(float* x, int64_t rows, int64_t heads, int64_t head_dim, const int32_t* pos, float theta,
                  ThreadPool* pool) {
  rope_apply(x, rows, heads, head_dim, pos, theta, 1.0f, pool);
}

void rope_backward(float* dx, int64_t rows, int64_t heads, int64_t head_dim, const int32_t* pos, float theta,
                   ThreadPool* pool) {
  // A rotation's transpose is the rotation by the opposite angle.
  rope_apply(dx, rows, heads, head_dim, pos, theta, -1.0f, pool);
}

void swiglu_forward(const float* g, const float* u, float* h, int64_t n, ThreadPool* pool) {
  for_ranges(pool, n, [&](int64_t a, int64_t b) { swiglu(g + a, u + a, h + a, b - a); });
}

void swiglu_backward(const float* g, const float* u, const float* dh, float* dg, float* du, int64_t n,
                     ThreadPool* pool) {
  for_ranges(pool, n, [&](int64_t a, int64_t b) {
  for (int64_t i = a; i < b; ++i) {
    const float sig = 1.0f / (1.0f + std::exp(-g[i]));
    const float silu = g[i] * sig;
    du[i] = dh[i] * silu;
    dg[i] = dh[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
  }
  });
}

namespace {
// Row t attends to [lo[t], t]: its own sample (segments are contiguous) and,
// with a window, the last `window` positions.
std::vector<int64_t> row_starts(const AttentionShape& s, const int32_t* segment) {
  std::vector<int64_t> lo(static_cast<size_t>(s.rows));
  int64_t start = 0;
  for (int64_t t = 0; t < s.rows; ++t) {
    if (segment && t > 0 && segment[t] != segment[t - 1]) start = t;
    lo[t] = s.window > 0 ? std::max(start, t - s.window + 1) : start;
  }
  return lo;
}
}  // namespace

void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v, const int32_t* segment,
                       float* probs, float* out, ThreadPool* pool) {
  const int64_t T = s.rows, hd = s.head_dim, q_dim = s.heads * hd, kv_dim = s.kv_heads * hd;
  const int64_t group = s.heads / s.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const std::vector<int64_t> lo = row_starts(s, segment);
  for (int64_t h = 0; h < s.heads; ++h) {
    const int64_t kvh = h / group;
    gemm_f32(Transpose::No, Transpose::Yes, T, T, hd, scale, q + h * hd, q_dim, k + kvh * hd, kv_dim, 0.0f,
             probs + h * T * T, T);
  }
  // Masked softmax of every (head, row), spread over the threads.
  auto softmax_rows = [&](int64_t task) {
    const int64_t t = task % T;
    float* row = probs + task * T;
    const int64_t a = lo[t];
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = a; j <= t; ++j) mx = std::max(mx, row[j]);
    float sum = 0;
    for (int64_t j = a; j <= t; ++j) {
      row[j] = std::exp(row[j] - mx);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
    std::fill(row, row + a, 0.0f);
    for (int64_t j = a; j <= t; ++j) row[j] *= inv;
    std::fill(row + t + 1, row + T, 0.0f);
  };
  if (pool) pool->run(s.heads * T, [&](int64_t task, int) { softmax_rows(task); });
  else
    for (int64_t task = 0; task < s.heads * T; ++task) softmax_rows(task);
  for (int64_t h = 0; h < s.heads; ++h) {
    const int64_t kvh = h / group;
    gemm_f32(Transpose::No, Transpose::No, T, hd, T, 1.0f, probs + h * T * T, T, v + kvh * hd, kv_dim, 0.0f,
             out + h * hd, q_dim);
  }
}

void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* probs,
                        const float* dout, float* dq, float* dk, float* dv, ThreadPool* pool) {
  const int64_t T = s.rows, hd = s.head_dim, q_dim = s.heads * hd, kv_dim = s.kv_heads * hd;
  const int64_t group = s.heads / s.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::fill_n(dk, T * kv_dim, 0.0f);
  std::fill_n(dv, T * kv_dim, 0.0f);
  std::vector<float> ds(static_cast<size_t>(T * T));
  for (int64_t h = 0; h < s.heads; ++h) {
    const int64_t kvh = h / group;
    const float* p = probs + h * T * T;
    // dP = dO · Vᵀ, then dS = P ⊙ (dP - rowsum(P ⊙ dP)), scaled for S = scale·QKᵀ.
    gemm_f32(Transpose::No, Transpose::Yes, T, T, hd, 1.0f, dout + h * hd, q_dim, v + kvh * hd, kv_dim, 0.0f, ds.data(), T);
    for_ranges(pool, T, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        float* row = ds.data() + t * T;
        const float* prow = p + t * T;
        float dot = 0;
        for (int64_t j = 0; j <= t; ++j) dot += prow[j] * row[j];
        for (int64_t j = 0; j <= t; ++j) row[j] = prow[j] * (row[j] - dot) * scale;
        std::fill(row + t + 1, row + T, 0.0f);
      }
    });
    gemm_f32(Transpose::No, Transpose::No, T, hd, T, 1.0f, ds.data(), T, k + kvh * hd, kv_dim, 0.0f, dq + h * hd, q_dim);
    gemm_f32(Transpose::Yes, Transpose::No, T, hd, T, 1.0f, ds.data(), T, q + h * hd, q_dim, 1.0f, dk + kvh * hd, kv_dim);
    gemm_f32(Transpose::Yes, Transpose::No, T, hd, T, 1.0f, p, T, dout + h * hd, q_dim, 1.0f, dv + kvh * hd, kv_dim);
  }
}

double cross_entropy_forward_backward(float* logits, const int32_t* target, int64_t rows, int64_t vocab,
                                      float grad_scale, int64_t* correct, ThreadPool* pool) {
  std::vector<double> loss(static_cast<size_t>(rows), 0.0);
  std::vector<uint8_t> hit(static_cast<size_t>(rows), 0);
  auto one_row = [&](int64_t t) {
    float* row = logits + t * vocab;
    if (target[t] < 0) {
      std::fill_n(row, vocab, 0.0f);
      return;
    }
    int64_t best = 0;
    float mx = row[0];
    for (int64_t i = 1; i < vocab; ++i)
      if (row[i] > mx) {
        mx = row[i];
        best = i;
      }
    hit[t] = best == target[t];
    const double target_logit = static_cast<double>(row[target[t]]) - mx;
    // exp(x - max) in float with a double sum: |error| well below the loss tolerances.
    double sum = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      row[i] = std::exp(row[i] - mx);
      sum += row[i];
    }
    loss[t] = std::log(sum) - target_logit;
    const float inv = static_cast<float>(grad_scale / sum);
    for (int64_t i = 0; i < vocab; ++i) row[i] *= inv;
    row[target[t]] -= grad_scale;
  };
  if (pool) pool->run(rows, [&](int64_t t, int) { one_row(t); });
  else
    for (int64_t t = 0; t < rows; ++t) one_row(t);
  double total = 0;
  for (int64_t t = 0; t < rows; ++t) {
    total += loss[t];
    if (correct && hit[t]) ++*correct;
  }
  return total;
}

}  // namespace officina
