#include "model/model_config.h"

#include "formats/gguf_file.h"

namespace officina {

int64_t ModelConfig::parameter_count() const {
  int64_t per_layer = 2 * dim                        // two norms
                      + dim * q_dim() + 2 * dim * kv_dim() + q_dim() * dim  // attention
                      + 3 * dim * ffn_dim;           // gate, up, down
  int64_t total = vocab_size * dim + n_layers * per_layer + dim;
  if (!tied_embeddings) total += vocab_size * dim;
  return total;
}

Result<void> ModelConfig::validate(std::string_view where) const {
  auto positive = [&](int64_t v, std::string_view name) -> Result<void> {
    if (v <= 0) return fail("{}: {} must be positive, got {}", where, name, v);
    if (v > (int64_t{1} << 24)) return fail("{}: {} = {} is implausibly large", where, name, v);
    return {};
  };
  OFFICINA_CHECK(positive(dim, "dim"));
  OFFICINA_CHECK(positive(n_layers, "layers"));
  OFFICINA_CHECK(positive(n_heads, "heads"));
  OFFICINA_CHECK(positive(n_kv_heads, "kv heads"));
  OFFICINA_CHECK(positive(head_dim, "head_dim"));
  OFFICINA_CHECK(positive(ffn_dim, "ffn size"));
  OFFICINA_CHECK(positive(vocab_size, "vocab size"));
  OFFICINA_CHECK(positive(context_length, "context length"));
  if (n_heads % n_kv_heads != 0)
    return fail("{}: heads ({}) must be a multiple of kv heads ({})", where, n_heads, n_kv_heads);
  if (head_dim % 2 != 0) return fail("{}: head_dim {} must be even for RoPE", where, head_dim);
  if (!(rope_theta > 0)) return fail("{}: rope theta must be positive, got {}", where, rope_theta);
  if (!(rms_eps > 0 && rms_eps < 1)) return fail("{}: rms eps must be in (0, 1), got {}", where, rms_eps);
  if (sliding_window < 0) return fail("{}: sliding window must be >= 0, got {}", where, sliding_window);
  return {};
}

Result<ModelConfig> model_config_from_gguf(const GgufFile& gguf) {
  const std::string& where = gguf.where();
  OFFICINA_TRY(std::string arch, gguf.get_string("general.architecture"));
  if (arch != "llama" && arch != "mistral")
    return fail("{}: architecture '{}' is not supported (officina runs llama and mistral)", where, arch);
  ModelConfig c;
  c.architecture = arch;
  auto key = [&](std::string_view k) { return arch + "." + std::string(k); };
  auto int_or = [&](std::string_view k, int64_t fallback) -> Result<int64_t> {
    if (!gguf.find(key(k))) return fallback;
    return gguf.get_int(key(k));
  };
  auto float_or = [&](std::string_view k, double fallback) -> Result<double> {
    if (!gguf.find(key(k))) return fallback;
    return gguf.get_float(key(k));
  };
  OFFICINA_TRY(c.dim, gguf.get_int(key("embedding_length")));
  OFFICINA_TRY(c.n_layers, gguf.get_int(key("block_count")));
  OFFICINA_TRY(c.n_heads, gguf.get_int(key("attention.head_count")));
  OFFICINA_TRY(c.n_kv_heads, int_or("attention.head_count_kv", c.n_heads));
  OFFICINA_TRY(c.ffn_dim, gguf.get_int(key("feed_forward_length")));
  OFFICINA_TRY(c.context_length, int_or("context_length", 2048));
  OFFICINA_TRY(c.rope_theta, float_or("rope.freq_base", 10000.0));
  OFFICINA_TRY(c.rms_eps, float_or("attention.layer_norm_rms_epsilon", 1e-5));
  OFFICINA_TRY(c.sliding_window, int_or("attention.sliding_window", 0));
  int64_t default_head_dim = c.n_heads > 0 ? c.dim / c.n_heads : 0;
  OFFICINA_TRY(c.head_dim, int_or("attention.key_length", default_head_dim));
  OFFICINA_TRY(int64_t value_length, int_or("attention.value_length", c.head_dim));
  if (value_length != c.head_dim)
    return fail("{}: {} ({}) differs from key_length ({}); not supported", where, key("attention.value_length"),
                value_length, c.head_dim);
  OFFICINA_TRY(int64_t rope_dims, int_or("rope.dimension_count", c.head_dim));
  if (rope_dims != c.head_dim)
    return fail("{}: partial RoPE ({} = {}, head_dim {}) is not supported", where, key("rope.dimension_count"),
                rope_dims, c.head_dim);
  if (const GgufValue* scaling = gguf.find(key("rope.scaling.type"))) {
    OFFICINA_TRY(std::string type, scaling->as_string(key("rope.scaling.type")));
    if (type != "none") return fail("{}: rope scaling '{}' is not supported", where, type);
  }
  if (gguf.find_tensor("rope_freqs.weight"))
    return fail("{}: tensor 'rope_freqs.weight' (Llama-3.1 rope scaling) is not supported", where);
  c.tied_embeddings = gguf.find_tensor("output.weight") == nullptr;
  if (const GgufTensorInfo* embd = gguf.find_tensor("token_embd.weight")) c.vocab_size = embd->view.rows();
  OFFICINA_TRY(c.vocab_size, int_or("vocab_size", c.vocab_size));
  OFFICINA_CHECK(c.validate(where));
  return c;
}

Result<ModelConfig> model_config_from_hf(const Json& j, std::string_view where) {
  OFFICINA_TRY(std::string type, json_string(j, "model_type", where));
  if (type != "llama" && type != "mistral")
    return fail("{}: model_type '{}' is not supported (officina runs llama and mistral)", where, type);
  ModelConfig c;
  c.architecture = type;
  OFFICINA_TRY(c.dim, json_int(j, "hidden_size", where));
  OFFICINA_TRY(c.n_layers, json_int(j, "num_hidden_layers", where));
  OFFICINA_TRY(c.n_heads, json_int(j, "num_attention_heads", where));
  OFFICINA_TRY(c.n_kv_heads, json_int_or(j, "num_key_value_heads", c.n_heads, where));
  OFFICINA_TRY(c.ffn_dim, json_int(j, "intermediate_size", where));
  OFFICINA_TRY(c.vocab_size, json_int(j, "vocab_size", where));
  OFFICINA_TRY(c.context_length, json_int_or(j, "max_position_embeddings", 2048, where));
  OFFICINA_TRY(c.rope_theta, json_number_or(j, "rope_theta", 10000.0, where));
  OFFICINA_TRY(c.rms_eps, json_number_or(j, "rms_norm_eps", 1e-6, where));
  OFFICINA_TRY(c.sliding_window, json_int_or(j, "sliding_window", 0, where));
  OFFICINA_TRY(c.tied_embeddings, json_bool_or(j, "tie_word_embeddings", false, where));
  OFFICINA_TRY(c.head_dim, json_int_or(j, "head_dim", c.n_heads > 0 ? c.dim / c.n_heads : 0, where));
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    return fail("{}: rope_scaling {} is not supported", where, j["rope_scaling"].dump());
  if (j.contains("hidden_act") && j["hidden_act"] != "silu")
    return fail("{}: hidden_act {} is not supported (only silu)", where, j["hidden_act"].dump());
  OFFICINA_TRY(bool attention_bias, json_bool_or(j, "attention_bias", false, where));
  if (attention_bias) return fail("{}: attention_bias = true is not supported", where);
  OFFICINA_TRY(bool mlp_bias, json_bool_or(j, "mlp_bias", false, where));
  if (mlp_bias) return fail("{}: mlp_bias = true is not supported", where);
  OFFICINA_CHECK(c.validate(where));
  return c;
}

}  // namespace officina
