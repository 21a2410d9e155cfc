#include "train/lora_trainer.h"

#include <algorithm>
#include <cstring>

#include "base/random.h"
#include "tensor/gemm.h"
#include "tensor/quantize.h"
#include "train/train_ops.h"

namespace officina {

struct LoraTrainer::LayerState {
  std::vector<float> xn1, rstd1, q, k, v, probs, attn, o, x_mid, xn2, rstd2, g, u, h, down;
  std::vector<float> tq, tk, tv, to, tg, tu, td;  // LoRA A·x per projection
};

struct LoraTrainer::BackwardScratch {
  std::vector<float> d_mid, dh, dg, du, dxn2, dattn, dq, dk, dv, dxn1;
};

LoraTrainer::LoraTrainer(const Model& model, LoraParams* params, ThreadPool* pool)
    : config_(model.config()), weights_(model.weights()), params_(params), pool_(pool),
      scratch_bwd_(std::make_unique<BackwardScratch>()) {}

LoraTrainer::LoraTrainer(const ModelConfig& config, const ModelWeights& weights, ModelGrads* grads, ThreadPool* pool)
    : config_(config), weights_(weights), params_(nullptr), grads_(grads), pool_(pool),
      scratch_bwd_(std::make_unique<BackwardScratch>()) {}

LayerGrads* LoraTrainer::layer_grads(int64_t layer) {
  return grads_ ? &grads_->layers[static_cast<size_t>(layer)] : nullptr;
}

LoraTrainer::~LoraTrainer() = default;

namespace {
const float* f32(const TensorView& t) { return reinterpret_cast<const float*>(t.data); }
// Rows of a non-F32 weight dequantized per chunk: at most this many floats.
constexpr int64_t kChunkFloats = int64_t{1} << 22;
}  // namespace

uint64_t LoraTrainer::dropout_stream(const TrainPair& pair) const {
  return mix_seed(dropout_seed_ ^ mix_seed(static_cast<uint64_t>(pair.layer * kLoraTargets + static_cast<int>(pair.target) + 1)));
}

const float* LoraTrainer::lora_input(const TrainPair& pair, const float* x, int64_t rows) {
  if (!training_ || dropout_ <= 0.0f) return x;
  const int64_t n = rows * pair.in_features;
  dropped_.resize(static_cast<size_t>(n));
  Rng rng(dropout_stream(pair));
  const float keep_scale = 1.0f / (1.0f - dropout_);
  for (int64_t i = 0; i < n; ++i) dropped_[i] = rng.uniform() < dropout_ ? 0.0f : x[i] * keep_scale;
  return dropped_.data();
}

template <class F>
void LoraTrainer::for_each_weight_block(const TensorView& w, F&& fn) {
  const int64_t out = w.rows(), in = w.cols();
  if (w.dtype == DType::F32) {
    fn(0, out, f32(w));  // used in place
    return;
  }
  const int64_t chunk = std::max<int64_t>(1, kChunkFloats / in);
  for (int64_t r0 = 0; r0 < out; r0 += chunk) {
    const int64_t r1 = std::min(out, r0 + chunk);
    weight_.resize(static_cast<size_t>((r1 - r0) * in));
    for (int64_t r = r0; r < r1; ++r) dequantize_row(w.dtype, w.row(r), &weight_[(r - r0) * in], in);
    fn(r0, r1 - r0, weight_.data());
  }
}

void LoraTrainer::linear_forward(const TensorView& w, const TrainPair* lora, const float* x, int64_t rows, float* y,
                                 float* t) {
  const int64_t out = w.rows(), in = w.cols();
  for_each_weight_block(w, [&](int64_t r0, int64_t n, const float* block) {
    gemm_f32(Transpose::No, Transpose::Yes, rows, n, in, 1.0f, x, in, block, in, 0.0f, y + r0, out);
  });
  if (lora) {
    const int64_t r = lora->rank;
    const float* xl = lora_input(*lora, x, rows);
    gemm_f32(Transpose::No, Transpose::Yes, rows, r, in, 1.0f, xl, in, lora->a.data(), in, 0.0f, t, r);
    gemm_f32(Transpose::No, Transpose::Yes, rows, out, r, params_->scale(), t, r, lora->b.data(), r, 1.0f, y, out);
  }
}

void LoraTrainer::linear_backward(const TensorView& w, TrainPair* lora, const float* x, const float* t, const float* dy,
                                  int64_t rows, float* dx, float* dw) {
  const int64_t out = w.rows(), in = w.cols();
  if (dw) gemm_f32(Transpose::Yes, Transpose::No, out, in, rows, 1.0f, dy, out, x, in, 1.0f, dw, in);
  for_each_weight_block(w, [&](int64_t r0, int64_t n, const float* block) {
    gemm_f32(Transpose::No, Transpose::No, rows, in, n, 1.0f, dy + r0, out, block, in, 1.0f, dx, in);
  });
  if (lora) {
    const int64_t r = lora->rank;
    const float s = params_->scale();
    scratch_.resize(static_cast<size_t>(rows * r));
    float* u = scratch_.data();  // dy · B
    gemm_f32(Transpose::No, Transpose::No, rows, r, out, 1.0f, dy, out, lora->b.data(), r, 0.0f, u, r);
    if (training_ && dropout_ > 0.0f) {
      // d(dropout(x))/dx is the mask scaled: rebuild it from the same stream.
      const float* xl = lora_input(*lora, x, rows);
      std::vector<float> dxl(static_cast<size_t>(rows * in), 0.0f);
      gemm_f32(Transpose::No, Transpose::No, rows, in, r, s, u, r, lora->a.data(), in, 0.0f, dxl.data(), in);
      gemm_f32(Transpose::Yes, Transpose::No, r, in, rows, s, u, r, xl, in, 1.0f, lora->grad_a.data(), in);
      Rng rng(dropout_stream(*lora));
      const float keep_scale = 1.0f / (1.0f - dropout_);
      for (int64_t i = 0; i < rows * in; ++i)
        if (!(rng.uniform() < dropout_)) dx[i] += dxl[i] * keep_scale;
    } else {
      gemm_f32(Transpose::No, Transpose::No, rows, in, r, s, u, r, lora->a.data(), in, 1.0f, dx, in);
      gemm_f32(Transpose::Yes, Transpose::No, r, in, rows, s, u, r, x, in, 1.0f, lora->grad_a.data(), in);
    }
    gemm_f32(Transpose::Yes, Transpose::No, out, r, rows, s, dy, out, t, r, 1.0f, lora->grad_b.data(), r);
  }
}

Result<void> LoraTrainer::check(const TrainSequence& seq) const {
  const ModelConfig& c = config_;
  const size_t T = seq.tokens.size();
  if (T == 0) return fail("training sequence is empty");
  if (seq.targets.size() != T) return fail("training sequence: {} tokens but {} targets", T, seq.targets.size());
  if (!seq.positions.empty() && seq.positions.size() != T) return fail("training sequence: positions do not match tokens");
  if (!seq.segments.empty() && seq.segments.size() != T) return fail("training sequence: segments do not match tokens");
  if (static_cast<int64_t>(T) > c.context_length)
    return fail("training sequence of {} tokens is longer than the model's context {}", T, c.context_length);
  for (size_t i = 0; i < T; ++i) {
    if (seq.tokens[i] < 0 || seq.tokens[i] >= c.vocab_size)
      return fail("training sequence: token {} at {} is outside the vocabulary [0, {})", seq.tokens[i], i, c.vocab_size);
    if (seq.targets[i] >= c.vocab_size || seq.targets[i] < -1)
      return fail("training sequence: target {} at {} is outside the vocabulary", seq.targets[i], i);
  }
  return {};
}

void LoraTrainer::embed(const TrainSequence& seq) {
  const ModelConfig& c = config_;
  T_ = static_cast<int64_t>(seq.tokens.size());
  pos_ = seq.positions;
  if (pos_.empty())
    for (int32_t i = 0; i < T_; ++i) pos_.push_back(i);
  seg_ = seq.segments;
  x_.resize(static_cast<size_t>((c.n_layers + 1) * T_ * c.dim));
  const TensorView& e = weights_.token_embd;
  for (int64_t t = 0; t < T_; ++t) dequantize_row(e.dtype, e.row(seq.tokens[t]), &x_[t * c.dim], c.dim);
}

void LoraTrainer::embed_backward(const TrainSequence& seq, const float* d_x) {
  // A token seen several times gets the sum of its rows' gradients.
  const int64_t dim = config_.dim;
  for (int64_t t = 0; t < T_; ++t) {
    float* row = grads_->token_embd + static_cast<size_t>(seq.tokens[t]) * static_cast<size_t>(dim);
    const float* d = d_x + t * dim;
    for (int64_t i = 0; i < dim; ++i) row[i] += d[i];
  }
}

void LoraTrainer::layer_forward(int64_t l, const float* x_in, float* x_out, LayerState& st) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_.layers[static_cast<size_t>(l)];
  const int64_t T = T_, dim = c.dim, qd = c.q_dim(), kvd = c.kv_dim(), ffn = c.ffn_dim;
  const int64_t r = params_ ? params_->rank() : 0;
  auto pair = [&](LoraTarget target) -> const TrainPair* { return params_ ? params_->find(l, target) : nullptr; };
  auto size = [](std::vector<float>& v, int64_t n) { v.resize(static_cast<size_t>(n)); };
  size(st.xn1, T * dim), size(st.rstd1, T), size(st.q, T * qd), size(st.k, T * kvd), size(st.v, T * kvd);
  size(st.probs, c.n_heads * T * T), size(st.attn, T * qd), size(st.o, T * dim), size(st.x_mid, T * dim);
  size(st.xn2, T * dim), size(st.rstd2, T), size(st.g, T * ffn), size(st.u, T * ffn), size(st.h, T * ffn);
  size(st.down, T * dim);
  for (auto* v : {&st.tq, &st.tk, &st.tv, &st.to, &st.tg, &st.tu, &st.td}) size(*v, T * std::max<int64_t>(r, 1));
  const float eps = static_cast<float>(c.rms_eps), theta = static_cast<float>(c.rope_theta);

  rms_norm_forward(x_in, f32(w.attn_norm), st.xn1.data(), st.rstd1.data(), T, dim, eps, pool_);
  linear_forward(w.wq, pair(LoraTarget::Q), st.xn1.data(), T, st.q.data(), st.tq.data());
  linear_forward(w.wk, pair(LoraTarget::K), st.xn1.data(), T, st.k.data(), st.tk.data());
  linear_forward(w.wv, pair(LoraTarget::V), st.xn1.data(), T, st.v.data(), st.tv.data());
  rope_forward(st.q.data(), T, c.n_heads, c.head_dim, pos_.data(), theta, pool_);
  rope_forward(st.k.data(), T, c.n_kv_heads, c.head_dim, pos_.data(), theta, pool_);
  AttentionShape shape{T, c.n_heads, c.n_kv_heads, c.head_dim, c.sliding_window};
  attention_forward(shape, st.q.data(), st.k.data(), st.v.data(), seg_.empty() ? nullptr : seg_.data(),
                    st.probs.data(), st.attn.data(), pool_);
  linear_forward(w.wo, pair(LoraTarget::O), st.attn.data(), T, st.o.data(), st.to.data());
  for (int64_t i = 0; i < T * dim; ++i) st.x_mid[i] = x_in[i] + st.o[i];
  rms_norm_forward(st.x_mid.data(), f32(w.ffn_norm), st.xn2.data(), st.rstd2.data(), T, dim, eps, pool_);
  linear_forward(w.w_gate, pair(LoraTarget::Gate), st.xn2.data(), T, st.g.data(), st.tg.data());
  linear_forward(w.w_up, pair(LoraTarget::Up), st.xn2.data(), T, st.u.data(), st.tu.data());
  swiglu_forward(st.g.data(), st.u.data(), st.h.data(), T * ffn, pool_);
  linear_forward(w.w_down, pair(LoraTarget::Down), st.h.data(), T, st.down.data(), st.td.data());
  for (int64_t i = 0; i < T * dim; ++i) x_out[i] = st.x_mid[i] + st.down[i];
}

void LoraTrainer::layer_backward(int64_t l, LayerState& st, const float* d_out, float* d_in) {
  BackwardScratch& b = *scratch_bwd_;
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_.layers[static_cast<size_t>(l)];
  const int64_t T = T_, dim = c.dim, qd = c.q_dim(), kvd = c.kv_dim(), ffn = c.ffn_dim;
  auto pair = [&](LoraTarget target) -> TrainPair* { return params_ ? params_->find(l, target) : nullptr; };
  auto zeros = [](std::vector<float>& v, int64_t n) { v.assign(static_cast<size_t>(n), 0.0f); };
  const float theta = static_cast<float>(c.rope_theta);
  LayerGrads none;
  const LayerGrads& g = grads_ ? *layer_grads(l) : none;

  b.d_mid.assign(d_out, d_out + T * dim);
  zeros(b.dh, T * ffn);
  linear_backward(w.w_down, pair(LoraTarget::Down), st.h.data(), st.td.data(), d_out, T, b.dh.data(), g.w_down);
  zeros(b.dg, T * ffn), zeros(b.du, T * ffn);
  swiglu_backward(st.g.data(), st.u.data(), b.dh.data(), b.dg.data(), b.du.data(), T * ffn, pool_);
  zeros(b.dxn2, T * dim);
  linear_backward(w.w_gate, pair(LoraTarget::Gate), st.xn2.data(), st.tg.data(), b.dg.data(), T, b.dxn2.data(),
                  g.w_gate);
  linear_backward(w.w_up, pair(LoraTarget::Up), st.xn2.data(), st.tu.data(), b.du.data(), T, b.dxn2.data(), g.w_up);
  rms_norm_backward(st.x_mid.data(), f32(w.ffn_norm), st.rstd2.data(), b.dxn2.data(), b.d_mid.data(), T, dim, pool_);
  if (g.ffn_norm) rms_norm_backward_weight(st.x_mid.data(), st.rstd2.data(), b.dxn2.data(), g.ffn_norm, T, dim, pool_);

  zeros(b.dattn, T * qd);
  linear_backward(w.wo, pair(LoraTarget::O), st.attn.data(), st.to.data(), b.d_mid.data(), T, b.dattn.data(), g.wo);
  zeros(b.dq, T * qd), zeros(b.dk, T * kvd), zeros(b.dv, T * kvd);
  AttentionShape shape{T, c.n_heads, c.n_kv_heads, c.head_dim, c.sliding_window};
  attention_backward(shape, st.q.data(), st.k.data(), st.v.data(), st.probs.data(), b.dattn.data(), b.dq.data(),
                     b.dk.data(), b.dv.data(), pool_);
  rope_backward(b.dq.data(), T, c.n_heads, c.head_dim, pos_.data(), theta, pool_);
  rope_backward(b.dk.data(), T, c.n_kv_heads, c.head_dim, pos_.data(), theta, pool_);
  zeros(b.dxn1, T * dim);
  linear_backward(w.wq, pair(LoraTarget::Q), st.xn1.data(), st.tq.data(), b.dq.data(), T, b.dxn1.data(), g.wq);
  linear_backward(w.wk, pair(LoraTarget::K), st.xn1.data(), st.tk.data(), b.dk.data(), T, b.dxn1.data(), g.wk);
  linear_backward(w.wv, pair(LoraTarget::V), st.xn1.data(), st.tv.data(), b.dv.data(), T, b.dxn1.data(), g.wv);
  std::copy_n(b.d_mid.data(), T * dim, d_in);
  const float* x_in = &x_[static_cast<size_t>(l * T * dim)];
  rms_norm_backward(x_in, f32(w.attn_norm), st.rstd1.data(), b.dxn1.data(), d_in, T, dim, pool_);
  if (g.attn_norm) rms_norm_backward_weight(x_in, st.rstd1.data(), b.dxn1.data(), g.attn_norm, T, dim, pool_);
}

double LoraTrainer::head(const TrainSequence& seq, bool backward, float loss_scale, int64_t* correct, float* d_x) {
  const ModelConfig& c = config_;
  const ModelWeights& w = weights_;
  const int64_t T = T_, dim = c.dim, vocab = c.vocab_size;
  // Only rows with a target reach the output head.
  std::vector<int64_t> rows;
  std::vector<int32_t> targets;
  for (int64_t t = 0; t < T; ++t)
    if (seq.targets[t] >= 0) {
      rows.push_back(t);
      targets.push_back(seq.targets[t]);
    }
  const int64_t m = static_cast<int64_t>(rows.size());
  if (backward) std::fill_n(d_x, T * dim, 0.0f);
  if (m == 0) return 0.0;
  const float* x_last = &x_[static_cast<size_t>(c.n_layers * T * dim)];
  std::vector<float> xs(static_cast<size_t>(m * dim)), xn(static_cast<size_t>(m * dim)), rstd(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) std::copy_n(x_last + rows[i] * dim, dim, &xs[i * dim]);
  rms_norm_forward(xs.data(), f32(w.output_norm), xn.data(), rstd.data(), m, dim, static_cast<float>(c.rms_eps), pool_);
  logits_.resize(static_cast<size_t>(m * vocab));
  linear_forward(w.output, nullptr, xn.data(), m, logits_.data(), nullptr);
  double loss = cross_entropy_forward_backward(logits_.data(), targets.data(), m, vocab, loss_scale, correct, pool_);
  if (!backward) return loss;
  std::vector<float> dxn(static_cast<size_t>(m * dim), 0.0f), dxs(static_cast<size_t>(m * dim), 0.0f);
  linear_backward(w.output, nullptr, xn.data(), nullptr, logits_.data(), m, dxn.data(), grads_ ? grads_->output : nullptr);
  rms_norm_backward(xs.data(), f32(w.output_norm), rstd.data(), dxn.data(), dxs.data(), m, dim, pool_);
  if (grads_) rms_norm_backward_weight(xs.data(), rstd.data(), dxn.data(), grads_->output_norm, m, dim, pool_);
  for (int64_t i = 0; i < m; ++i) std::copy_n(&dxs[i * dim], dim, d_x + rows[i] * dim);
  return loss;
}

Result<SequenceLoss> LoraTrainer::evaluate(const TrainSequence& seq) {
  OFFICINA_CHECK(check(seq));
  embed(seq);
  const ModelConfig& c = config_;
  const size_t layer_size = static_cast<size_t>(T_ * c.dim);
  if (states_.empty()) states_.push_back(std::make_unique<LayerState>());
  for (int64_t l = 0; l < c.n_layers; ++l)
    layer_forward(l, &x_[l * layer_size], &x_[(l + 1) * layer_size], *states_[0]);
  SequenceLoss out;
  for (int32_t t : seq.targets) out.targets += t >= 0;
  out.loss_sum = head(seq, false, 0.0f, &out.correct, nullptr);
  return out;
}

Result<SequenceLoss> LoraTrainer::accumulate(const TrainSequence& seq, float loss_scale) {
  OFFICINA_CHECK(check(seq));
  training_ = true;
  embed(seq);
  const ModelConfig& c = config_;
  const size_t layer_size = static_cast<size_t>(T_ * c.dim);
  // Keep every layer's activations when they fit the budget; otherwise keep
  // one and recompute each layer's forward pass before going back through it.
  const int64_t T = T_, H = c.n_heads;
  const int64_t r = params_ ? std::max<int64_t>(params_->rank(), 1) : 1;
  const int64_t per_layer = 4 * (T * (6 * c.dim + 2 * c.q_dim() + 2 * c.kv_dim() + 4 * c.ffn_dim + 7 * r + 2) + H * T * T);
  const bool keep_all = per_layer * c.n_layers <= memory_budget_;
  const size_t wanted = keep_all ? static_cast<size_t>(c.n_layers) : 1;
  if (states_.size() > wanted) states_.resize(wanted);
  while (states_.size() < wanted) states_.push_back(std::make_unique<LayerState>());
  auto state_of = [&](int64_t l) -> LayerState& { return *states_[keep_all ? static_cast<size_t>(l) : 0]; };
  for (int64_t l = 0; l < c.n_layers; ++l)
    layer_forward(l, &x_[l * layer_size], &x_[(l + 1) * layer_size], state_of(l));
  SequenceLoss out;
  for (int32_t t : seq.targets) out.targets += t >= 0;
  std::vector<float> d_x(layer_size), d_prev(layer_size), scratch_out(layer_size);
  out.loss_sum = head(seq, true, loss_scale, &out.correct, d_x.data());
  for (int64_t l = c.n_layers - 1; l >= 0; --l) {
    // With one kept state, it still holds the last layer; the others are recomputed.
    if (!keep_all && l != c.n_layers - 1) layer_forward(l, &x_[l * layer_size], scratch_out.data(), state_of(l));
    layer_backward(l, state_of(l), d_x.data(), d_prev.data());
    std::swap(d_x, d_prev);
  }
  if (grads_) embed_backward(seq, d_x.data());
  training_ = false;
  return out;
}

}  // namespace officina
