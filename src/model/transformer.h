// The forward pass of the Llama/Mistral decoder over a batch of tokens.
// Each batch row carries its token, its sequence slot in the KV cache, its
// position and its adapter (DESIGN: "batches from the start"): single-prompt
// prefill is a batch of one slot's consecutive positions, decoding is one row
// per running sequence. Rows may belong to different slots.
// Per layer: x += Wo·attn(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x));
//            x += Wdown·(silu(Wgate·n(x)) ⊙ Wup·n(x)),  n = RMSNorm.
// Thread-safety: one forward() at a time per Transformer (it owns scratch).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/aligned_allocator.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "model/kv_cache.h"
#include "model/lora_adapter.h"
#include "model/model.h"

namespace officina {

struct BatchRow {
  int32_t token = 0;
  int32_t slot = 0;
  int32_t pos = 0;
  int32_t adapter = -1;      // -1: base model only
  bool want_logits = false;  // compute the output head for this row
};

class Transformer {
 public:
  Transformer(const Model& model, ThreadPool& pool);

  // Runs the batch, writing each row's K/V into `cache` at (slot, pos).
  // Attention of a row sees positions [pos - window + 1, pos] of its slot
  // (window = the model's sliding window, or all). Rows of one slot must come
  // in increasing position order and positions must be contiguous with what
  // the slot already holds. Logits of rows with want_logits go to `logits`
  // ([rows wanting logits, vocab], in batch order).
  // Fails on a bad token id, slot, position beyond the cache context
  // ("context full: position 2048 >= context 2048"), or a gap in positions.
  Result<void> forward(std::span<const BatchRow> batch, KvCache& cache, std::vector<float>& logits);
  // The same pass without the output head: the final-normed hidden states of
  // the rows with want_logits ([those rows, dim]), for embeddings.
  Result<void> forward_hidden(std::span<const BatchRow> batch, KvCache& cache, std::vector<float>& hidden);

  const Model& model() const { return model_; }

  // The LoRA adapters rows may name: BatchRow::adapter indexes this list
  // (-1 = none). Rows of one batch may use different adapters. The adapters
  // must outlive their use here and fit the model (LoraAdapter::load checks).
  void set_adapters(std::vector<const LoraAdapter*> adapters) { adapters_ = std::move(adapters); }
  const std::vector<const LoraAdapter*>& adapters() const { return adapters_; }

 private:
  // Runs the blocks; leaves the final-normed states of the rows wanting
  // output packed at the start of xn_ and returns how many there are.
  Result<int64_t> run_blocks(std::span<const BatchRow> batch, KvCache& cache);
  void attention(std::span<const BatchRow> batch, int64_t layer, KvCache& cache);
  // y[i] += scale · B·(A·x[i]) for the rows whose adapter has a pair on (layer, target).
  void apply_lora(std::span<const BatchRow> batch, int64_t layer, LoraTarget target, const float* x, int64_t in,
                  float* y, int64_t out);

  const Model& model_;
  ThreadPool& pool_;
  // Scratch, resized per batch and reused.
  // Cache-line aligned: the matmul kernels stream whole rows of these.
  AlignedVector<float> x_, xn_, q_, k_, v_, attn_, gate_, up_, out_;
  std::vector<std::vector<float>> scores_;  // per thread, one context row
  std::vector<const LoraAdapter*> adapters_;
  std::vector<float> lora_t_;                // [rows, rank] A·x
  struct LoraItem {
    int64_t row;
    const LoraPair* pair;
    float scale;
  };
  std::vector<LoraItem> lora_items_;  // the rows one apply_lora call updates
};

}  // namespace officina
