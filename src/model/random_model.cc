#include "model/random_model.h"

#include "base/random.h"

namespace officina {

Result<std::unique_ptr<RandomModel>> make_random_model(const ModelConfig& config, uint64_t seed,
                                                       double weight_std) {
  OFFICINA_CHECK(config.validate("model init"));
  auto m = std::make_unique<RandomModel>();
  m->config = config;
  uint64_t stream = 0;
  // Each tensor gets its own stream so changing one shape leaves the others.
  auto tensor = [&](std::initializer_list<int64_t> shape, bool ones) {
    TensorView v;
    v.dtype = DType::F32;
    v.ndim = static_cast<int>(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) v.shape[i] = shape.begin()[i];
    auto data = std::make_unique<std::vector<float>>(static_cast<size_t>(v.elements()));
    Rng rng(mix_seed(seed ^ mix_seed(++stream)));
    for (float& x : *data) x = ones ? 1.0f : static_cast<float>(rng.normal() * weight_std);
    v.data = reinterpret_cast<const std::byte*>(data->data());
    m->storage.push_back(std::move(data));
    return v;
  };
  const ModelConfig& c = config;
  ModelWeights& w = m->weights;
  w.token_embd = tensor({c.vocab_size, c.dim}, false);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    LayerWeights lw;
    lw.attn_norm = tensor({c.dim}, true);
    lw.wq = tensor({c.q_dim(), c.dim}, false);
    lw.wk = tensor({c.kv_dim(), c.dim}, false);
    lw.wv = tensor({c.kv_dim(), c.dim}, false);
    lw.wo = tensor({c.dim, c.q_dim()}, false);
    lw.ffn_norm = tensor({c.dim}, true);
    lw.w_gate = tensor({c.ffn_dim, c.dim}, false);
    lw.w_up = tensor({c.ffn_dim, c.dim}, false);
    lw.w_down = tensor({c.dim, c.ffn_dim}, false);
    w.layers.push_back(lw);
  }
  w.output_norm = tensor({c.dim}, true);
  w.output = c.tied_embeddings ? w.token_embd : tensor({c.vocab_size, c.dim}, false);
  return m;
}

}  // namespace officina
