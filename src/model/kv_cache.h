// Key/value cache organised by sequence slot (DESIGN: "KV cache by slot").
// Each slot holds up to `context` positions of every layer's keys and values
// (F32, [layer][slot][position][kv_dim]). Sequences start, grow, are copied
// (prefix reuse) and are cleared independently.
// Thread-safety: the forward pass writes distinct (slot, position) cells from
// several threads; slot management (clear, copy) is single-threaded.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "model/model_config.h"

namespace officina {

// Precision of cached keys/values and of the attention that reads them. F16
// rounds k, v, q and the attention probabilities to half precision, as the
// reference engine's F16 cache does (storage stays 4 bytes per value for now).
enum class KvPrecision { F32, F16 };

// F16 for models whose matrices are block-quantized (their numerics then
// match the reference engine), F32 otherwise (exact against float64).
KvPrecision default_kv_precision(const class Model& model);

class KvCache {
 public:
  // Fails when the cache would need more than max_bytes.
  static Result<KvCache> create(const ModelConfig& config, int64_t slots, int64_t context,
                                KvPrecision precision = KvPrecision::F32, size_t max_bytes = size_t{64} << 30);

  int64_t slots() const { return slots_; }
  int64_t context() const { return context_; }
  int64_t kv_dim() const { return kv_dim_; }
  KvPrecision precision() const { return precision_; }
  size_t bytes() const { return (keys_.size() + values_.size()) * sizeof(float); }

  float* key(int64_t layer, int64_t slot, int64_t pos) { return keys_.data() + offset(layer, slot, pos); }
  float* value(int64_t layer, int64_t slot, int64_t pos) { return values_.data() + offset(layer, slot, pos); }
  const float* key(int64_t layer, int64_t slot, int64_t pos) const { return keys_.data() + offset(layer, slot, pos); }
  const float* value(int64_t layer, int64_t slot, int64_t pos) const {
    return values_.data() + offset(layer, slot, pos);
  }

  // Number of positions of `slot` filled so far (the next position to write).
  int64_t length(int64_t slot) const { return lengths_[static_cast<size_t>(slot)]; }
  void set_length(int64_t slot, int64_t length) { lengths_[static_cast<size_t>(slot)] = length; }
  void clear(int64_t slot) { set_length(slot, 0); }
  // Copies the first `count` positions of src into dst (prefix reuse).
  void copy_prefix(int64_t src, int64_t dst, int64_t count);

 private:
  size_t offset(int64_t layer, int64_t slot, int64_t pos) const {
    return static_cast<size_t>(((layer * slots_ + slot) * context_ + pos) * kv_dim_);
  }
  int64_t layers_ = 0, slots_ = 0, context_ = 0, kv_dim_ = 0;
  KvPrecision precision_ = KvPrecision::F32;
  std::vector<float> keys_, values_;
  std::vector<int64_t> lengths_;
};

}  // namespace officina
