#include "model/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "model/model.h"

namespace officina {

KvPrecision default_kv_precision(const Model& model) {
  const auto& layers = model.weights().layers;
  return !layers.empty() && dtype_is_quantized(layers[0].wq.dtype) ? KvPrecision::F16 : KvPrecision::F32;
}

Result<KvCache> KvCache::create(const ModelConfig& config, int64_t slots, int64_t context, KvPrecision precision,
                                size_t max_bytes) {
  if (slots <= 0) return fail("KV cache: slots must be positive, got {}", slots);
  if (context <= 0) return fail("KV cache: context must be positive, got {}", context);
  double bytes = 2.0 * static_cast<double>(config.n_layers) * slots * context * config.kv_dim() * sizeof(float);
  if (bytes > static_cast<double>(max_bytes))
    return fail("KV cache: {} slots × {} positions need {:.1f} GiB, more than the {:.1f} GiB allowed; lower --ctx",
                slots, context, bytes / (1 << 30), static_cast<double>(max_bytes) / (1 << 30));
  KvCache c;
  c.layers_ = config.n_layers;
  c.slots_ = slots;
  c.context_ = context;
  c.kv_dim_ = config.kv_dim();
  c.precision_ = precision;
  size_t n = static_cast<size_t>(c.layers_ * slots * context * c.kv_dim_);
  c.keys_.assign(n, 0.0f);
  c.values_.assign(n, 0.0f);
  c.lengths_.assign(static_cast<size_t>(slots), 0);
  return c;
}

void KvCache::copy_prefix(int64_t src, int64_t dst, int64_t count) {
  count = std::min(count, length(src));
  if (src == dst || count <= 0) return;
  size_t row = static_cast<size_t>(kv_dim_) * sizeof(float);
  for (int64_t l = 0; l < layers_; ++l) {
    std::memcpy(key(l, dst, 0), key(l, src, 0), row * static_cast<size_t>(count));
    std::memcpy(value(l, dst, 0), value(l, src, 0), row * static_cast<size_t>(count));
  }
  set_length(dst, count);
}

}  // namespace officina
