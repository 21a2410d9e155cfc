// Finite-difference checks of every backward op: for a random scalar
// objective L = sum(w ⊙ f(x)), the analytic gradient must match
// (L(x + h) - L(x - h)) / 2h in double-checked float arithmetic.
#include <cmath>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "tensor/gemm.h"
#include "train/train_ops.h"

namespace officina {
namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}

double objective(const std::vector<float>& y, const std::vector<float>& w) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * w[i];
  return s;
}

// Checks grad (analytic) against central differences of f at a few coordinates.
void check_gradient(std::vector<float>& x, const std::vector<float>& grad, const std::function<double()>& f,
                    const char* what, double tol = 2e-2, float h = 1e-2f) {
  std::mt19937 gen(7);
  for (int probe = 0; probe < 24; ++probe) {
    size_t i = gen() % x.size();
    float saved = x[i];
    x[i] = saved + h;
    double up = f();
    x[i] = saved - h;
    double down = f();
    x[i] = saved;
    double numeric = (up - down) / (2.0 * h);
    EXPECT_NEAR(grad[i], numeric, tol * std::max(1.0, std::fabs(numeric))) << what << " at " << i;
  }
}

TEST(TrainOps, RmsNormBackward) {
  const int64_t rows = 3, dim = 37;
  auto x = random_vector(rows * dim, 1), w = random_vector(dim, 2), probe = random_vector(rows * dim, 3);
  std::vector<float> y(rows * dim), rstd(rows), dx(rows * dim, 0.0f);
  auto f = [&] {
    rms_norm_forward(x.data(), w.data(), y.data(), rstd.data(), rows, dim, 1e-5f);
    return objective(y, probe);
  };
  f();
  rms_norm_backward(x.data(), w.data(), rstd.data(), probe.data(), dx.data(), rows, dim);
  check_gradient(x, dx, f, "rms_norm");
}

TEST(TrainOps, RmsNormWeightBackward) {
  const int64_t rows = 5, dim = 131;  // over 64 columns: split across the pool's threads
  auto x = random_vector(rows * dim, 11), w = random_vector(dim, 12), probe = random_vector(rows * dim, 13);
  std::vector<float> y(rows * dim), rstd(rows), dw(dim, 0.0f);
  auto f = [&] {
    rms_norm_forward(x.data(), w.data(), y.data(), rstd.data(), rows, dim, 1e-5f);
    return objective(y, probe);
  };
  f();
  ThreadPool pool(3);
  rms_norm_backward_weight(x.data(), rstd.data(), probe.data(), dw.data(), rows, dim, &pool);
  check_gradient(w, dw, f, "rms_norm dw");
}

TEST(TrainOps, SwigluBackward) {
  const int64_t n = 101;
  auto g = random_vector(n, 4, 2.0f), u = random_vector(n, 5), probe = random_vector(n, 6);
  std::vector<float> h(n), dg(n), du(n);
  auto f = [&] {
    swiglu_forward(g.data(), u.data(), h.data(), n);
    return objective(h, probe);
  };
  f();
  swiglu_backward(g.data(), u.data(), probe.data(), dg.data(), du.data(), n);
  check_gradient(g, dg, f, "swiglu dg");
  check_gradient(u, du, f, "swiglu du");
}

TEST(TrainOps, RopeBackwardIsTheTranspose) {
  const int64_t rows = 5, heads = 3, hd = 8;
  std::vector<int32_t> pos = {0, 1, 7, 30, 511};
  auto x = random_vector(rows * heads * hd, 7), probe = random_vector(rows * heads * hd, 8);
  auto f = [&] {
    std::vector<float> y = x;
    rope_forward(y.data(), rows, heads, hd, pos.data(), 10000.0f);
    return objective(y, probe);
  };
  std::vector<float> dx = probe;
  rope_backward(dx.data(), rows, heads, hd, pos.data(), 10000.0f);
  check_gradient(x, dx, f, "rope", 1e-2, 1e-2f);
}

TEST(TrainOps, AttentionBackwardWithGqaWindowAndSegments) {
  AttentionShape s{9, 4, 2, 6, 5};  // GQA 4 heads over 2, window 5
  const int64_t qd = s.heads * s.head_dim, kvd = s.kv_heads * s.head_dim;
  std::vector<int32_t> segment = {0, 0, 0, 0, 1, 1, 1, 1, 1};  // two packed samples
  auto q = random_vector(s.rows * qd, 9), k = random_vector(s.rows * kvd, 10), v = random_vector(s.rows * kvd, 11);
  auto probe = random_vector(s.rows * qd, 12);
  std::vector<float> probs(s.heads * s.rows * s.rows), out(s.rows * qd);
  auto f = [&] {
    attention_forward(s, q.data(), k.data(), v.data(), segment.data(), probs.data(), out.data());
    return objective(out, probe);
  };
  f();
  // Masked pairs carry no probability: no attention across samples or beyond the window.
  for (int64_t h = 0; h < s.heads; ++h)
    for (int64_t t = 0; t < s.rows; ++t)
      for (int64_t j = 0; j < s.rows; ++j)
        if (j > t || segment[j] != segment[t] || j <= t - s.window) EXPECT_EQ(probs[(h * s.rows + t) * s.rows + j], 0.0f);
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward(s, q.data(), k.data(), v.data(), probs.data(), probe.data(), dq.data(), dk.data(), dv.data());
  check_gradient(q, dq, f, "attention dq");
  check_gradient(k, dk, f, "attention dk");
  check_gradient(v, dv, f, "attention dv");
}

TEST(TrainOps, CrossEntropyGradient) {
  const int64_t rows = 4, vocab = 13;
  auto logits = random_vector(rows * vocab, 13, 3.0f);
  std::vector<int32_t> target = {3, -1, 12, 0};
  auto f = [&] {
    std::vector<float> copy = logits;
    return cross_entropy_forward_backward(copy.data(), target.data(), rows, vocab, 0.5f, nullptr) * 0.5;
  };
  std::vector<float> grad = logits;
  int64_t correct = 0;
  double loss = cross_entropy_forward_backward(grad.data(), target.data(), rows, vocab, 0.5f, &correct);
  EXPECT_GT(loss, 0.0);
  for (int64_t i = 0; i < vocab; ++i) EXPECT_EQ(grad[vocab + i], 0.0f);  // no target, no gradient
  check_gradient(logits, grad, f, "cross entropy", 1e-2, 1e-2f);
}

TEST(Gemm, MatchesReferenceForEveryTransposeOnAwkwardSizes) {
  for (auto ta : {Transpose::No, Transpose::Yes}) {
    for (auto tb : {Transpose::No, Transpose::Yes}) {
      const int64_t m = 7, n = 13, k = 29;
      auto a = random_vector(m * k, 20), b = random_vector(k * n, 21), c0 = random_vector(m * n, 22);
      const int64_t lda = ta == Transpose::No ? k : m, ldb = tb == Transpose::No ? n : k;
      std::vector<float> c = c0, ref = c0;
      gemm_f32(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 1.0f, c.data(), n);
      gemm_f32_reference(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 1.0f, ref.data(), n);
      for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], ref[i], 1e-4f);
    }
  }
}

}  // namespace
}  // namespace officina
