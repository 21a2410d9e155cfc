#include "model/transformer.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <unordered_map>

#include "tensor/matmul.h"
#include "tensor/ops.h"
#include "tensor/quantize.h"

namespace officina {

Transformer::Transformer(const Model& model, ThreadPool& pool) : model_(model), pool_(pool) {
  scores_.resize(static_cast<size_t>(pool.size()));
}

namespace {
const float* f32(const TensorView& t) { return reinterpret_cast<const float*>(t.data); }

Result<void> check_batch(std::span<const BatchRow> batch, const ModelConfig& c, const KvCache& cache,
                         size_t adapters) {
  std::unordered_map<int32_t, int64_t> next;  // slot -> next position it may take
  for (size_t i = 0; i < batch.size(); ++i) {
    const BatchRow& r = batch[i];
    if (r.token < 0 || r.token >= c.vocab_size)
      return fail("batch row {}: token id {} outside the vocabulary [0, {})", i, r.token, c.vocab_size);
    if (r.slot < 0 || r.slot >= cache.slots())
      return fail("batch row {}: slot {} outside [0, {})", i, r.slot, cache.slots());
    if (r.pos < 0) return fail("batch row {}: negative position {}", i, r.pos);
    if (r.pos >= cache.context())
      return fail("context full: position {} >= context {} (start a new sequence or raise --ctx)", r.pos,
                  cache.context());
    if (r.adapter < -1 || r.adapter >= static_cast<int32_t>(adapters))
      return fail("batch row {}: adapter {} requested but {} adapter(s) are loaded", i, r.adapter, adapters);
    auto it = next.find(r.slot);
    int64_t expected = it == next.end() ? cache.length(r.slot) : it->second;
    // A slot may restart earlier (rewind), but never skip positions.
    if (it == next.end() ? r.pos > expected : r.pos != expected)
      return fail("batch row {}: slot {} position {} does not follow position {}", i, r.slot, r.pos, expected - 1);
    next[r.slot] = r.pos + 1;
  }
  return {};
}
}  // namespace

Result<void> Transformer::forward(std::span<const BatchRow> batch, KvCache& cache, std::vector<float>& logits) {
  int64_t m = 0;
  OFFICINA_TRY(m, run_blocks(batch, cache));
  logits.resize(static_cast<size_t>(m * model_.config().vocab_size));
  if (m > 0) matmul(model_.weights().output, xn_.data(), logits.data(), m, pool_);
  return {};
}

Result<void> Transformer::forward_hidden(std::span<const BatchRow> batch, KvCache& cache, std::vector<float>& hidden) {
  int64_t m = 0;
  OFFICINA_TRY(m, run_blocks(batch, cache));
  hidden.assign(xn_.begin(), xn_.begin() + m * model_.config().dim);
  return {};
}

Result<int64_t> Transformer::run_blocks(std::span<const BatchRow> batch, KvCache& cache) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  OFFICINA_CHECK(check_batch(batch, c, cache, adapters_.size()));
  bool any_adapter = false;
  for (const BatchRow& r : batch) any_adapter = any_adapter || r.adapter >= 0;
  if (cache.kv_dim() != c.kv_dim()) return fail("KV cache was made for another model (kv_dim {} vs {})",
                                                cache.kv_dim(), c.kv_dim());
  const int64_t n = static_cast<int64_t>(batch.size());
  if (n == 0) return 0;
  const int64_t dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), ffn = c.ffn_dim;
  const float eps = static_cast<float>(c.rms_eps), theta = static_cast<float>(c.rope_theta);
  x_.resize(n * dim);
  xn_.resize(n * dim);
  q_.resize(n * q_dim);
  k_.resize(n * kv_dim);
  v_.resize(n * kv_dim);
  attn_.resize(n * q_dim);
  gate_.resize(n * ffn);
  up_.resize(n * ffn);
  out_.resize(n * dim);

  for (int64_t i = 0; i < n; ++i) dequantize_row(w.token_embd.dtype, w.token_embd.row(batch[i].token), &x_[i * dim], dim);
  for (const BatchRow& r : batch) cache.set_length(r.slot, std::min<int64_t>(cache.length(r.slot), r.pos));

  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    for (int64_t i = 0; i < n; ++i) rms_norm(&x_[i * dim], f32(lw.attn_norm), &xn_[i * dim], dim, eps);
    matmul(lw.wq, xn_.data(), q_.data(), n, pool_);
    matmul(lw.wk, xn_.data(), k_.data(), n, pool_);
    matmul(lw.wv, xn_.data(), v_.data(), n, pool_);
    if (any_adapter) {
      apply_lora(batch, l, LoraTarget::Q, xn_.data(), dim, q_.data(), q_dim);
      apply_lora(batch, l, LoraTarget::K, xn_.data(), dim, k_.data(), kv_dim);
      apply_lora(batch, l, LoraTarget::V, xn_.data(), dim, v_.data(), kv_dim);
    }
    for (int64_t i = 0; i < n; ++i) {
      const BatchRow& r = batch[i];
      for (int64_t h = 0; h < c.n_heads; ++h) rope_interleaved(&q_[i * q_dim + h * c.head_dim], c.head_dim, r.pos, theta);
      for (int64_t h = 0; h < c.n_kv_heads; ++h)
        rope_interleaved(&k_[i * kv_dim + h * c.head_dim], c.head_dim, r.pos, theta);
      if (cache.precision() == KvPrecision::F16) {
        round_to_fp16(&k_[i * kv_dim], kv_dim);
        round_to_fp16(&v_[i * kv_dim], kv_dim);
      }
      std::copy_n(&k_[i * kv_dim], kv_dim, cache.key(l, r.slot, r.pos));
      std::copy_n(&v_[i * kv_dim], kv_dim, cache.value(l, r.slot, r.pos));
    }
    attention(batch, l, cache);
    matmul(lw.wo, attn_.data(), out_.data(), n, pool_);
    if (any_adapter) apply_lora(batch, l, LoraTarget::O, attn_.data(), q_dim, out_.data(), dim);
    for (int64_t i = 0; i < n * dim; ++i) x_[i] += out_[i];

    for (int64_t i = 0; i < n; ++i) rms_norm(&x_[i * dim], f32(lw.ffn_norm), &xn_[i * dim], dim, eps);
    matmul(lw.w_gate, xn_.data(), gate_.data(), n, pool_);
    matmul(lw.w_up, xn_.data(), up_.data(), n, pool_);
    if (any_adapter) {
      apply_lora(batch, l, LoraTarget::Gate, xn_.data(), dim, gate_.data(), ffn);
      apply_lora(batch, l, LoraTarget::Up, xn_.data(), dim, up_.data(), ffn);
    }
    swiglu(gate_.data(), up_.data(), gate_.data(), n * ffn);
    matmul(lw.w_down, gate_.data(), out_.data(), n, pool_);
    if (any_adapter) apply_lora(batch, l, LoraTarget::Down, gate_.data(), ffn, out_.data(), dim);
    for (int64_t i = 0; i < n * dim; ++i) x_[i] += out_[i];
  }
  for (const BatchRow& r : batch) cache.set_length(r.slot, std::max<int64_t>(cache.length(r.slot), r.pos + 1));

  // The final norm only for the rows that asked for output, packed in xn_.
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!batch[i].want_logits) continue;
    rms_norm(&x_[i * dim], f32(w.output_norm), &xn_[m * dim], dim, eps);
    ++m;
  }
  return m;
}

void Transformer::apply_lora(std::span<const BatchRow> batch, int64_t layer, LoraTarget target, const float* x,
                             int64_t in, float* y, int64_t out) {
  // Every row with an adapter that has this pair, whatever the adapter: one
  // job over all of them (a batch of a few rows per adapter still fills the
  // pool). A row's result depends only on the row and its adapter.
  lora_items_.clear();
  int64_t max_rank = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const int32_t a = batch[i].adapter;
    if (a < 0) continue;
    const LoraPair* pair = adapters_[static_cast<size_t>(a)]->find(layer, target);
    if (!pair) continue;
    lora_items_.push_back({static_cast<int64_t>(i), pair, adapters_[static_cast<size_t>(a)]->scale()});
    max_rank = std::max(max_rank, pair->rank);
  }
  if (lora_items_.empty()) return;
  lora_t_.resize(lora_items_.size() * static_cast<size_t>(max_rank));
  auto one_row = [&](int64_t j) {
    const LoraItem& item = lora_items_[static_cast<size_t>(j)];
    const LoraPair& pair = *item.pair;
    const int64_t rank = pair.rank;
    float* t = &lora_t_[static_cast<size_t>(j * max_rank)];
    const float* xi = x + item.row * in;
    for (int64_t k = 0; k < rank; ++k) t[k] = item.scale * dot_f32(&pair.a[k * in], xi, in);
    float* yi = y + item.row * out;
    assert(static_cast<int64_t>(pair.b_t.size()) == rank * out);
    for (int64_t k = 0; k < rank; ++k) axpy(t[k], &pair.b_t[k * out], yi, out);
  };
  const int64_t rows = static_cast<int64_t>(lora_items_.size());
  if (rows >= 2) pool_.run(rows, [&](int64_t j, int) { one_row(j); });
  else
    one_row(0);
}

void Transformer::attention(std::span<const BatchRow> batch, int64_t layer, KvCache& cache) {
  const ModelConfig& c = model_.config();
  const int64_t hd = c.head_dim, q_dim = c.q_dim(), group = c.n_heads / c.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t n = static_cast<int64_t>(batch.size());
  pool_.run(n * c.n_heads, [&](int64_t task, int thread) {
    const int64_t i = task / c.n_heads, h = task % c.n_heads, kv_h = h / group;
    const BatchRow& r = batch[i];
    const int64_t start = c.sliding_window > 0 ? std::max<int64_t>(0, r.pos - c.sliding_window + 1) : 0;
    const int64_t count = r.pos - start + 1;
    std::vector<float>& s = scores_[static_cast<size_t>(thread)];
    if (static_cast<int64_t>(s.size()) < count + hd) s.resize(static_cast<size_t>(cache.context() + hd));
    const bool f16 = cache.precision() == KvPrecision::F16;
    const float* q = &q_[i * q_dim + h * hd];
    if (f16) {  // the query meets F16 keys at F16 precision; kept after the scores
      float* rounded = s.data() + cache.context();
      std::copy_n(q, hd, rounded);
      round_to_fp16(rounded, hd);
      q = rounded;
    }
    for (int64_t j = 0; j < count; ++j)
      s[j] = dot_f32(q, cache.key(layer, r.slot, start + j) + kv_h * hd, hd) * scale;
    softmax(s.data(), count);
    if (f16) round_to_fp16(s.data(), count);
    float* out = &attn_[i * q_dim + h * hd];
    std::fill_n(out, hd, 0.0f);
    for (int64_t j = 0; j < count; ++j) axpy(s[j], cache.value(layer, r.slot, start + j) + kv_h * hd, out, hd);
  });
}

}  // namespace officina
