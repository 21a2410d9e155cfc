#include "pdm/sequence_net.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>

#include "base/random.h"
#include "tensor/gemm.h"
#include "train/adamw.h"
#include "train/finetune.h"

namespace officina::pdm {

namespace {

// C[m, n] += A[m, k] · B[k, n], all row-major and packed: the forward pass of
// predict(), which may run on many threads at once (the shared GEMM may not).
void matmul_add(size_t m, size_t n, size_t k, const float* a, const float* b, float* c) {
  for (size_t i = 0; i < m; ++i) {
    float* row = c + i * n;
    for (size_t p = 0; p < k; ++p) {
      const float av = a[i * k + p];
      const float* brow = b + p * n;
      for (size_t j = 0; j < n; ++j) row[j] += av * brow[j];
    }
  }
}

}  // namespace

struct SequenceNet::Workspace {
  std::vector<float> cols1, h1, cols2, h2, pool, d, out;
  std::vector<float> dout, dd, dpool, dh2, dcols2, dh1;
};

SequenceNet::Layout SequenceNet::layout() const {
  Layout l{};
  size_t at = 0;
  auto take = [&](size_t n) {
    size_t start = at;
    at += n;
    return start;
  };
  l.w1 = take(kernel_ * channels_ * filters_);
  l.b1 = take(filters_);
  l.w2 = take(kernel_ * filters_ * filters_);
  l.b2 = take(filters_);
  l.w3 = take(pooled() * hidden_);
  l.b3 = take(hidden_);
  l.w4 = take(hidden_);
  l.b4 = take(1);
  l.total = at;
  return l;
}

SequenceNet SequenceNet::initial(size_t window, size_t channels, size_t scalars, const SequenceNetOptions& options,
                                 double y_shift, double y_scale) {
  SequenceNet net;
  net.window_ = window;
  net.channels_ = channels;
  net.scalars_ = scalars;
  net.filters_ = static_cast<size_t>(options.filters);
  net.kernel_ = static_cast<size_t>(options.kernel);
  net.hidden_ = static_cast<size_t>(options.hidden);
  net.y_shift_ = y_shift;
  net.y_scale_ = y_scale;
  const Layout l = net.layout();
  net.params_.assign(l.total, 0.0f);
  // He-uniform for the ReLU layers, a small uniform for the output; biases 0.
  Rng rng(mix_seed(options.seed ^ 0xc0417ull));
  auto fill = [&](size_t at, size_t n, size_t fan_in, double gain) {
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in));
    for (size_t i = 0; i < n; ++i) net.params_[at + i] = static_cast<float>((2 * rng.uniform() - 1) * bound);
  };
  fill(l.w1, l.b1 - l.w1, net.kernel_ * channels, 1.0);
  fill(l.w2, l.b2 - l.w2, net.kernel_ * net.filters_, 1.0);
  fill(l.w3, l.b3 - l.w3, net.pooled(), 1.0);
  fill(l.w4, l.b4 - l.w4, net.hidden_, 0.3);
  return net;
}

void SequenceNet::forward(const float* x, const float* s, size_t n, Workspace& ws, bool shared_gemm) const {
  auto product = [&](size_t m, size_t cols, size_t k, const float* a, const float* b, float* c) {
    if (shared_gemm) {
      gemm_f32(Transpose::No, Transpose::No, static_cast<int64_t>(m), static_cast<int64_t>(cols), static_cast<int64_t>(k),
               1.0f, a, static_cast<int64_t>(k), b, static_cast<int64_t>(cols), 1.0f, c, static_cast<int64_t>(cols));
    } else {
      matmul_add(m, cols, k, a, b, c);
    }
  };
  const Layout l = layout();
  const float* p = params_.data();
  const size_t c = channels_, k = kernel_, f = filters_, L1 = l1(), L2 = l2(), P = pooled(), H = hidden_;
  const size_t kc = k * c, kf = k * f;
  ws.cols1.resize(n * L1 * kc);
  ws.h1.resize(n * L1 * f);
  ws.cols2.resize(n * L2 * kf);
  ws.h2.resize(n * L2 * f);
  ws.pool.resize(n * P);
  ws.d.resize(n * H);
  ws.out.resize(n);
  // conv1: each output position reads K consecutive rows of C channels.
  for (size_t b = 0; b < n; ++b) {
    for (size_t t = 0; t < L1; ++t) std::memcpy(&ws.cols1[(b * L1 + t) * kc], x + (b * window_ + t) * c, kc * sizeof(float));
  }
  for (size_t r = 0; r < n * L1; ++r) std::memcpy(&ws.h1[r * f], p + l.b1, f * sizeof(float));
  product(n * L1, f, kc, ws.cols1.data(), p + l.w1, ws.h1.data());
  for (float& v : ws.h1) v = std::max(v, 0.0f);
  // conv2 over conv1's maps.
  for (size_t b = 0; b < n; ++b) {
    for (size_t t = 0; t < L2; ++t) std::memcpy(&ws.cols2[(b * L2 + t) * kf], &ws.h1[(b * L1 + t) * f], kf * sizeof(float));
  }
  for (size_t r = 0; r < n * L2; ++r) std::memcpy(&ws.h2[r * f], p + l.b2, f * sizeof(float));
  product(n * L2, f, kf, ws.cols2.data(), p + l.w2, ws.h2.data());
  for (float& v : ws.h2) v = std::max(v, 0.0f);
  // Pool: mean over time, the last step, the scalars.
  for (size_t b = 0; b < n; ++b) {
    float* out = &ws.pool[b * P];
    std::fill(out, out + f, 0.0f);
    for (size_t t = 0; t < L2; ++t) {
      const float* h = &ws.h2[(b * L2 + t) * f];
      for (size_t j = 0; j < f; ++j) out[j] += h[j];
    }
    for (size_t j = 0; j < f; ++j) out[j] /= static_cast<float>(L2);
    std::memcpy(out + f, &ws.h2[(b * L2 + L2 - 1) * f], f * sizeof(float));
    for (size_t j = 0; j < scalars_; ++j) out[2 * f + j] = s[b * scalars_ + j];
  }
  for (size_t b = 0; b < n; ++b) std::memcpy(&ws.d[b * H], p + l.b3, H * sizeof(float));
  product(n, H, P, ws.pool.data(), p + l.w3, ws.d.data());
  for (float& v : ws.d) v = std::max(v, 0.0f);
  for (size_t b = 0; b < n; ++b) {
    float sum = p[l.b4];
    for (size_t j = 0; j < H; ++j) sum += ws.d[b * H + j] * p[l.w4 + j];
    ws.out[b] = sum;
  }
}

void SequenceNet::backward(size_t n, Workspace& ws, float* grad) const {
  const Layout l = layout();
  const float* p = params_.data();
  const size_t c = channels_, k = kernel_, f = filters_, L1 = l1(), L2 = l2(), P = pooled(), H = hidden_;
  const size_t kc = k * c, kf = k * f;
  std::fill(grad, grad + l.total, 0.0f);
  // Output layer.
  ws.dd.assign(n * H, 0.0f);
  for (size_t b = 0; b < n; ++b) {
    const float g = ws.dout[b];
    grad[l.b4] += g;
    for (size_t j = 0; j < H; ++j) {
      grad[l.w4 + j] += g * ws.d[b * H + j];
      ws.dd[b * H + j] = ws.d[b * H + j] > 0 ? g * p[l.w4 + j] : 0.0f;
    }
  }
  // Dense layer.
  gemm_f32(Transpose::Yes, Transpose::No, static_cast<int64_t>(P), static_cast<int64_t>(H), static_cast<int64_t>(n), 1.0f,
           ws.pool.data(), static_cast<int64_t>(P), ws.dd.data(), static_cast<int64_t>(H), 0.0f, grad + l.w3,
           static_cast<int64_t>(H));
  for (size_t b = 0; b < n; ++b) {
    for (size_t j = 0; j < H; ++j) grad[l.b3 + j] += ws.dd[b * H + j];
  }
  ws.dpool.resize(n * P);
  gemm_f32(Transpose::No, Transpose::Yes, static_cast<int64_t>(n), static_cast<int64_t>(P), static_cast<int64_t>(H), 1.0f,
           ws.dd.data(), static_cast<int64_t>(H), p + l.w3, static_cast<int64_t>(H), 0.0f, ws.dpool.data(),
           static_cast<int64_t>(P));
  // Pool -> conv2's maps (the scalars are inputs: no gradient needed).
  ws.dh2.resize(n * L2 * f);
  for (size_t b = 0; b < n; ++b) {
    const float* dp = &ws.dpool[b * P];
    for (size_t t = 0; t < L2; ++t) {
      float* g = &ws.dh2[(b * L2 + t) * f];
      const float* h = &ws.h2[(b * L2 + t) * f];
      for (size_t j = 0; j < f; ++j) {
        float v = dp[j] / static_cast<float>(L2) + (t == L2 - 1 ? dp[f + j] : 0.0f);
        g[j] = h[j] > 0 ? v : 0.0f;
      }
    }
  }
  gemm_f32(Transpose::Yes, Transpose::No, static_cast<int64_t>(kf), static_cast<int64_t>(f), static_cast<int64_t>(n * L2),
           1.0f, ws.cols2.data(), static_cast<int64_t>(kf), ws.dh2.data(), static_cast<int64_t>(f), 0.0f, grad + l.w2,
           static_cast<int64_t>(f));
  for (size_t r = 0; r < n * L2; ++r) {
    for (size_t j = 0; j < f; ++j) grad[l.b2 + j] += ws.dh2[r * f + j];
  }
  ws.dcols2.resize(n * L2 * kf);
  gemm_f32(Transpose::No, Transpose::Yes, static_cast<int64_t>(n * L2), static_cast<int64_t>(kf), static_cast<int64_t>(f),
           1.0f, ws.dh2.data(), static_cast<int64_t>(f), p + l.w2, static_cast<int64_t>(f), 0.0f, ws.dcols2.data(),
           static_cast<int64_t>(kf));
  // col2im: each conv2 row read K consecutive rows of conv1's maps.
  ws.dh1.assign(n * L1 * f, 0.0f);
  for (size_t b = 0; b < n; ++b) {
    for (size_t t = 0; t < L2; ++t) {
      const float* src = &ws.dcols2[(b * L2 + t) * kf];
      float* dst = &ws.dh1[(b * L1 + t) * f];
      for (size_t j = 0; j < kf; ++j) dst[j] += src[j];
    }
  }
  for (size_t i = 0; i < ws.dh1.size(); ++i) {
    if (!(ws.h1[i] > 0)) ws.dh1[i] = 0.0f;
  }
  gemm_f32(Transpose::Yes, Transpose::No, static_cast<int64_t>(kc), static_cast<int64_t>(f), static_cast<int64_t>(n * L1),
           1.0f, ws.cols1.data(), static_cast<int64_t>(kc), ws.dh1.data(), static_cast<int64_t>(f), 0.0f, grad + l.w1,
           static_cast<int64_t>(f));
  for (size_t r = 0; r < n * L1; ++r) {
    for (size_t j = 0; j < f; ++j) grad[l.b1 + j] += ws.dh1[r * f + j];
  }
}

double SequenceNet::loss_and_gradient(const float* x, const float* s, const double* y, const double* w, size_t n,
                                      std::vector<float>& grad) const {
  Workspace ws;
  forward(x, s, n, ws, true);
  double wsum = 0, loss = 0;
  for (size_t b = 0; b < n; ++b) wsum += w[b];
  if (!(wsum > 0)) wsum = 1;
  ws.dout.resize(n);
  for (size_t b = 0; b < n; ++b) {
    const double target = (y[b] - y_shift_) / y_scale_;
    const double e = static_cast<double>(ws.out[b]) - target;
    loss += w[b] * e * e;
    ws.dout[b] = static_cast<float>(2 * w[b] * e / wsum);
  }
  grad.resize(params_.size());
  backward(n, ws, grad.data());
  return loss / wsum;
}

std::vector<double> SequenceNet::predict(const float* x, const float* s, size_t n) const {
  return run(x, s, n, false);
}

std::vector<double> SequenceNet::run(const float* x, const float* s, size_t n, bool shared_gemm) const {
  std::vector<double> out(n);
  Workspace ws;
  constexpr size_t kChunk = 512;
  for (size_t at = 0; at < n; at += kChunk) {
    const size_t m = std::min(kChunk, n - at);
    forward(x + at * window_ * channels_, s + at * scalars_, m, ws, shared_gemm);
    for (size_t b = 0; b < m; ++b) out[at + b] = static_cast<double>(ws.out[b]) * y_scale_ + y_shift_;
  }
  return out;
}

namespace {

double weighted_rmse(const std::vector<double>& pred, const SequenceRows& data, const std::vector<uint32_t>& rows) {
  double se = 0, wsum = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const double e = pred[i] - data.y[rows[i]];
    se += data.w[rows[i]] * e * e;
    wsum += data.w[rows[i]];
  }
  return wsum > 0 ? std::sqrt(se / wsum) : 0.0;
}

// Gathers rows into contiguous buffers.
void gather(const SequenceRows& data, std::span<const uint32_t> rows, std::vector<float>& x, std::vector<float>& s,
            std::vector<double>& y, std::vector<double>& w) {
  const size_t xw = data.window * data.channels;
  x.resize(rows.size() * xw);
  s.resize(rows.size() * data.scalars);
  y.resize(rows.size());
  w.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t r = rows[i];
    std::memcpy(&x[i * xw], &data.x[r * xw], xw * sizeof(float));
    if (data.scalars) std::memcpy(&s[i * data.scalars], &data.s[r * data.scalars], data.scalars * sizeof(float));
    y[i] = data.y[r];
    w[i] = data.w[r];
  }
}

}  // namespace

Result<SequenceNet> SequenceNet::train(const SequenceRows& data, const std::vector<uint32_t>& train,
                                       const std::vector<uint32_t>& validation, const SequenceNetOptions& options,
                                       SequenceTrainInfo* info) {
  if (train.empty()) return fail("the neural model has no training rows");
  if (options.kernel < 1 || options.filters < 1 || options.hidden < 1 || options.batch < 1 || options.max_epochs < 1) {
    return fail("the neural model's sizes must be positive");
  }
  if (data.window < 2 * static_cast<size_t>(options.kernel) - 1) {
    return fail("the sequence window ({}) must be at least {} cycles for kernels of {}", data.window,
                2 * options.kernel - 1, options.kernel);
  }
  // Standardised target: weighted mean and deviation of the training rows.
  double wsum = 0, mean = 0, var = 0;
  for (uint32_t r : train) wsum += data.w[r], mean += data.w[r] * data.y[r];
  mean /= wsum;
  for (uint32_t r : train) var += data.w[r] * (data.y[r] - mean) * (data.y[r] - mean);
  const double scale = std::sqrt(var / wsum) > 1e-9 ? std::sqrt(var / wsum) : 1.0;
  SequenceNet net = initial(data.window, data.channels, data.scalars, options, mean, scale);
  // The products are small (a batch of 64 windows: at most a few thousand
  // rows by 24 to 120): one thread. With OpenBLAS's threads the synthetic
  // fleet test took 10x longer on two busy cores.
  GemmThreadsScope one_thread(1);

  const Layout l = net.layout();
  std::vector<float> grad(l.total, 0.0f);
  // The optimizer's view: weights decay, biases do not.
  auto view = [&](const char* name, size_t at, size_t n, bool decay) {
    return ParamTensor{name, {static_cast<int64_t>(n)}, std::span<float>(net.params_.data() + at, n),
                       std::span<float>(grad.data() + at, n), decay};
  };
  std::vector<ParamTensor> tensors = {view("conv1.w", l.w1, l.b1 - l.w1, true), view("conv1.b", l.b1, l.w2 - l.b1, false),
                                      view("conv2.w", l.w2, l.b2 - l.w2, true), view("conv2.b", l.b2, l.w3 - l.b2, false),
                                      view("dense.w", l.w3, l.b3 - l.w3, true), view("dense.b", l.b3, l.w4 - l.b3, false),
                                      view("out.w", l.w4, l.b4 - l.w4, true),   view("out.b", l.b4, 1, false)};
  AdamW optimizer(tensors, AdamWConfig{.weight_decay = options.weight_decay});

  Rng rng(mix_seed(options.seed ^ 0x5e9e7ull));
  std::vector<uint32_t> order = train;
  const size_t batch = static_cast<size_t>(options.batch);
  const int64_t steps_per_epoch = static_cast<int64_t>((order.size() + batch - 1) / batch);
  const int64_t total_steps = steps_per_epoch * options.max_epochs;
  std::vector<float> bx, bs;
  std::vector<double> by, bw;
  std::vector<float> vx, vs;
  std::vector<double> vy, vw;
  if (!validation.empty()) gather(data, validation, vx, vs, vy, vw);

  std::vector<float> best = net.params_;
  double best_rmse = std::numeric_limits<double>::infinity();
  int best_epoch = 0, epoch = 0, since_best = 0;
  int64_t step = 0;
  for (epoch = 1; epoch <= options.max_epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(rng.uniform() * static_cast<double>(i));
      std::swap(order[i - 1], order[j]);
    }
    for (size_t at = 0; at < order.size(); at += batch) {
      const size_t m = std::min(batch, order.size() - at);
      gather(data, std::span<const uint32_t>(order.data() + at, m), bx, bs, by, bw);
      net.loss_and_gradient(bx.data(), bs.data(), by.data(), bw.data(), m, grad);
      clip_grad_norm(tensors, options.clip_norm);
      optimizer.step(tensors, scheduled_lr(LrSchedule::Cosine, options.learning_rate, step++, total_steps, steps_per_epoch));
    }
    if (validation.empty()) {
      best = net.params_;
      best_epoch = epoch;
      continue;
    }
    const double rmse = weighted_rmse(net.run(vx.data(), vs.data(), validation.size(), true), data, validation);
    if (rmse < best_rmse) {
      best_rmse = rmse;
      best = net.params_;
      best_epoch = epoch;
      since_best = 0;
    } else if (++since_best >= options.patience) {
      break;
    }
  }
  net.params_ = std::move(best);
  if (info) {
    info->epochs = std::min(epoch, options.max_epochs);
    info->best_epoch = best_epoch;
    std::vector<float> tx, ts;
    std::vector<double> ty, tw;
    gather(data, train, tx, ts, ty, tw);
    info->train_rmse = weighted_rmse(net.run(tx.data(), ts.data(), train.size(), true), data, train);
    info->validation_rmse = validation.empty() ? 0.0 : best_rmse;
  }
  return net;
}

Json SequenceNet::to_json() const {
  return {{"window", window_}, {"channels", channels_}, {"scalars", scalars_}, {"filters", filters_},
          {"kernel", kernel_}, {"hidden", hidden_},     {"y_shift", y_shift_}, {"y_scale", y_scale_},
          {"parameters", params_}};
}

Result<SequenceNet> SequenceNet::from_json(const Json& json, std::string_view where) {
  SequenceNet net;
  try {
    net.window_ = json.at("window").get<size_t>();
    net.channels_ = json.at("channels").get<size_t>();
    net.scalars_ = json.at("scalars").get<size_t>();
    net.filters_ = json.at("filters").get<size_t>();
    net.kernel_ = json.at("kernel").get<size_t>();
    net.hidden_ = json.at("hidden").get<size_t>();
    net.y_shift_ = json.at("y_shift").get<double>();
    net.y_scale_ = json.at("y_scale").get<double>();
    net.params_ = json.at("parameters").get<std::vector<float>>();
  } catch (const std::exception& e) {
    return fail("{}: neural network: {}", where, e.what());
  }
  constexpr size_t kMaxSize = 4096;
  if (net.window_ == 0 || net.window_ > 1000 || net.channels_ == 0 || net.channels_ > kMaxSize || net.scalars_ > kMaxSize ||
      net.filters_ == 0 || net.filters_ > kMaxSize || net.kernel_ == 0 || net.kernel_ > net.window_ || net.hidden_ == 0 ||
      net.hidden_ > kMaxSize || net.window_ < 2 * net.kernel_ - 1) {
    return fail("{}: neural network: sizes out of range", where);
  }
  if (net.params_.size() != net.layout().total) {
    return fail("{}: neural network: {} parameters, the sizes need {}", where, net.params_.size(), net.layout().total);
  }
  for (float v : net.params_) {
    if (!std::isfinite(v)) return fail("{}: neural network: a parameter is not finite", where);
  }
  if (!std::isfinite(net.y_shift_) || !(net.y_scale_ > 0) || !std::isfinite(net.y_scale_)) {
    return fail("{}: neural network: bad target scale", where);
  }
  return net;
}

}  // namespace officina::pdm
