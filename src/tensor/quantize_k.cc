// Q4_K and Q6_K quantizers. Each first fits a float scale (and, for Q4_K, a
// min) per sub-block by trying a few candidate scales and refitting each by
// least squares, then quantizes those to the block's 6-bit (Q4_K) or int8
// (Q6_K) scale grid, and finally picks every quant against the scales the
// decoder will actually use. Layouts: dequantize.cc.
#include <cmath>
#include <initializer_list>

#include "tensor/blocks.h"

namespace officina::blocks {

namespace {

// ---- Q4_K: x ≈ a*q - b with q in [0, 15], a >= 0, b >= 0 ----

struct AffineFit {
  float a = 0.0f;  // scale
  float b = 0.0f;  // min (subtracted)
};

// Squared error of x ≈ a*q - b with the best q for each value.
double affine_error(const float* x, int n, AffineFit fit) {
  double err = 0.0;
  const float inv = fit.a > 0.0f ? 1.0f / fit.a : 0.0f;
  for (int i = 0; i < n; ++i) {
    const int q = round_clamp((x[i] + fit.b) * inv, 0, 15);
    const double e = static_cast<double>(fit.a) * q - fit.b - x[i];
    err += e * e;
  }
  return err;
}

// Least-squares a, b for fixed quants q (b clamped to >= 0, since the format
// stores mins unsigned and subtracts them).
bool refit_affine(const float* x, const int* q, int n, AffineFit* fit) {
  double sq = 0, sqq = 0, sx = 0, sqx = 0;
  for (int i = 0; i < n; ++i) {
    sq += q[i];
    sqq += static_cast<double>(q[i]) * q[i];
    sx += x[i];
    sqx += static_cast<double>(q[i]) * x[i];
  }
  const double det = n * sqq - sq * sq;
  if (det <= 0.0) return false;
  double a = (n * sqx - sq * sx) / det;
  double c = (sqq * sx - sq * sqx) / det;  // x ≈ a*q + c
  if (c > 0.0) {
    c = 0.0;
    a = sqx / sqq;
  }
  if (!(a > 0.0)) return false;
  fit->a = static_cast<float>(a);
  fit->b = static_cast<float>(-c);
  return true;
}

AffineFit fit_q4_sub_block(const float* x, int n) {
  float lo = 0.0f, hi = x[0];
  for (int i = 0; i < n; ++i) {
    lo = std::fmin(lo, x[i]);
    hi = std::fmax(hi, x[i]);
  }
  AffineFit best{(hi - lo) / 15.0f, -lo};
  if (!(hi - lo > 1e-30f)) return {0.0f, -lo};
  double best_err = affine_error(x, n, best);
  int q[kSuper];
  // Stretching the grid slightly beyond [lo, hi] or clipping the extremes
  // often lowers the total error; the refit puts the grid where it pays.
  for (int step = -20; step <= 10; ++step) {
    const float iscale = (15.0f + 0.1f * static_cast<float>(step)) / (hi - lo);
    for (int i = 0; i < n; ++i) q[i] = round_clamp((x[i] - lo) * iscale, 0, 15);
    AffineFit fit;
    if (!refit_affine(x, q, n, &fit)) continue;
    const double err = affine_error(x, n, fit);
    if (err < best_err) {
      best_err = err;
      best = fit;
    }
  }
  // Alternate between choosing quants and refitting (a, b) while it helps.
  for (int iter = 0; iter < 4; ++iter) {
    const float inv = 1.0f / best.a;
    for (int i = 0; i < n; ++i) q[i] = round_clamp((x[i] + best.b) * inv, 0, 15);
    AffineFit fit;
    if (!refit_affine(x, q, n, &fit)) break;
    const double err = affine_error(x, n, fit);
    if (!(err < best_err)) break;
    best_err = err;
    best = fit;
  }
  return best;
}

// ---- Q6_K: x ≈ s*q with q in [-32, 31], s signed ----

float fit_q6_sub_block(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (!(amax > 1e-30f)) return 0.0f;
  // Map the largest value near -32 (using the longer side of the range) or
  // near +31; for fixed quants the best scale is sum(xq)/sum(q²), which
  // leaves the error sum(x²) - sum(xq)²/sum(q²): maximise the last term.
  float best_scale = max / -32.0f;
  double best_gain = -1.0;
  for (int k = 0; k <= 12; ++k) {
    for (const float target : {-34.0f + 0.5f * k, 28.0f + 0.5f * k}) {
      const float iscale = target / max;
      double sxq = 0.0, sqq = 0.0;
      for (int i = 0; i < n; ++i) {
        const int q = round_clamp(x[i] * iscale, -32, 31);
        sxq += static_cast<double>(x[i]) * q;
        sqq += static_cast<double>(q) * q;
      }
      if (sqq <= 0.0) continue;
      const double gain = sxq * sxq / sqq;
      if (gain > best_gain) {
        best_gain = gain;
        best_scale = static_cast<float>(sxq / sqq);
      }
    }
  }
  return best_scale;
}

}  // namespace

void quantize_q4_k(const float* src, uint8_t* dst, int64_t blocks) {
  constexpr int kSub = 32;
  for (int64_t b = 0; b < blocks; ++b, src += kSuper) {
    auto* blk = reinterpret_cast<BlockQ4_K*>(dst + b * sizeof(BlockQ4_K));
    AffineFit fits[8];
    float max_a = 0.0f, max_b = 0.0f;
    for (int j = 0; j < 8; ++j) {
      fits[j] = fit_q4_sub_block(src + kSub * j, kSub);
      max_a = std::fmax(max_a, fits[j].a);
      max_b = std::fmax(max_b, fits[j].b);
    }
    half::store_half(blk->d, max_a / 63.0f);
    half::store_half(blk->dmin, max_b / 63.0f);
    // Quantize the sub-block scales against the stored (f16-rounded) values.
    const float d = half::load_half(blk->d);
    const float dmin = half::load_half(blk->dmin);
    uint8_t sc[8], m[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = static_cast<uint8_t>(d > 0.0f ? round_clamp(fits[j].a / d, 0, 63) : 0);
      m[j] = static_cast<uint8_t>(dmin > 0.0f ? round_clamp(fits[j].b / dmin, 0, 63) : 0);
    }
    pack_q4_k_scales(sc, m, blk->scales);
    int q[kSuper];
    for (int j = 0; j < 8; ++j) {
      const float a = d * static_cast<float>(sc[j]);
      const float mn = dmin * static_cast<float>(m[j]);
      const float inv = a > 0.0f ? 1.0f / a : 0.0f;
      for (int i = 0; i < kSub; ++i) q[kSub * j + i] = round_clamp((src[kSub * j + i] + mn) * inv, 0, 15);
    }
    // Chunk c of 32 bytes: sub-block 2c in the low nibbles, 2c+1 in the high.
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        blk->qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void quantize_q6_k(const float* src, uint8_t* dst, int64_t blocks) {
  constexpr int kSub = 16;
  for (int64_t b = 0; b < blocks; ++b, src += kSuper) {
    auto* blk = reinterpret_cast<BlockQ6_K*>(dst + b * sizeof(BlockQ6_K));
    float scales[16];
    float max_abs = 0.0f;
    for (int j = 0; j < 16; ++j) {
      scales[j] = fit_q6_sub_block(src + kSub * j, kSub);
      max_abs = std::fmax(max_abs, std::fabs(scales[j]));
    }
    half::store_half(blk->d, max_abs / 127.0f);
    const float d = half::load_half(blk->d);
    int q[kSuper];
    for (int j = 0; j < 16; ++j) {
      const int s = d > 0.0f ? round_clamp(scales[j] / d, -128, 127) : 0;
      blk->scales[j] = static_cast<int8_t>(s);
      const float eff = d * static_cast<float>(s);
      const float inv = eff != 0.0f ? 1.0f / eff : 0.0f;
      for (int i = 0; i < kSub; ++i) q[kSub * j + i] = round_clamp(src[kSub * j + i] * inv, -32, 31) + 32;
    }
    // Half h packs values 128h + {l, l+32, l+64, l+96} into ql[64h + l],
    // ql[64h + l + 32] (low nibble: first pair, high nibble: second) and the
    // four top-2-bit fields of qh[32h + l].
    for (int h = 0; h < 2; ++h) {
      const int* v = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        blk->ql[64 * h + l] = static_cast<uint8_t>((v[l] & 15) | ((v[l + 64] & 15) << 4));
        blk->ql[64 * h + l + 32] = static_cast<uint8_t>((v[l + 32] & 15) | ((v[l + 96] & 15) << 4));
        blk->qh[32 * h + l] = static_cast<uint8_t>((v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) |
                                                   ((v[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace officina::blocks
