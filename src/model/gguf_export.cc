#include "model/gguf_export.h"

#include <array>

#include "formats/gguf_file.h"
#include "model/model_chat_template.h"
#include "formats/gguf_writer.h"
#include "tensor/quantize.h"

namespace officina {

uint32_t gguf_file_type(DType type) {
  switch (type) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 7;
    case DType::Q4_K: return 14;  // llama.cpp's Q4_K_S: mostly Q4_K (15, Q4_K_M, mixes in Q6_K)
    case DType::Q6_K: return 18;
    case DType::BF16: return 32;
  }
  return 0;
}

Result<GgufMetadata> tokenizer_gguf_metadata(const Model& model) {
  if (const GgufFile* g = model.gguf()) {
    GgufMetadata out;
    for (const auto& [key, value] : g->metadata())
      if (key.starts_with("tokenizer.")) out.emplace_back(key, value);
    return out;
  }
  OFFICINA_TRY(GgufMetadata out, model.tokenizer().gguf_metadata());
  // A Hugging Face model's chat template travels with it into the GGUF file.
  OFFICINA_TRY(std::optional<std::string> chat_template, stored_chat_template(model));
  if (chat_template) out.emplace_back("tokenizer.chat_template", GgufValue::string(*chat_template));
  return out;
}

namespace {
// Converts a tensor to `type` row by row (returns the bytes).
Result<std::vector<std::byte>> convert_rows(const TensorView& t, DType type, std::string_view name) {
  if (!dtype_row_ok(type, t.cols()))
    return fail("tensor '{}': {} columns are not a multiple of the {} block size {}", name, t.cols(),
                dtype_name(type), dtype_block_size(type));
  std::vector<std::byte> out(dtype_row_bytes(type, t.cols()) * static_cast<size_t>(t.rows()));
  std::vector<float> row(static_cast<size_t>(t.cols()));
  for (int64_t r = 0; r < t.rows(); ++r) {
    dequantize_row(t.dtype, t.row(r), row.data(), t.cols());
    quantize_row(type, row.data(), out.data() + r * dtype_row_bytes(type, t.cols()), t.cols());
  }
  return out;
}
}  // namespace

GgufMetadata llama_gguf_metadata(const ModelConfig& c, std::string_view name, uint32_t file_type) {
  GgufMetadata m;
  const std::string a = "llama.";
  auto u32 = [](int64_t v) { return GgufValue::u32(static_cast<uint32_t>(v)); };
  m.emplace_back("general.architecture", GgufValue::string("llama"));
  m.emplace_back("general.name", GgufValue::string(name.empty() ? "officina" : std::string(name)));
  m.emplace_back("general.file_type", GgufValue::u32(file_type));
  m.emplace_back(a + "context_length", u32(c.context_length));
  m.emplace_back(a + "embedding_length", u32(c.dim));
  m.emplace_back(a + "block_count", u32(c.n_layers));
  m.emplace_back(a + "feed_forward_length", u32(c.ffn_dim));
  m.emplace_back(a + "rope.dimension_count", u32(c.head_dim));
  m.emplace_back(a + "attention.head_count", u32(c.n_heads));
  m.emplace_back(a + "attention.head_count_kv", u32(c.n_kv_heads));
  if (c.head_dim * c.n_heads != c.dim) {
    m.emplace_back(a + "attention.key_length", u32(c.head_dim));
    m.emplace_back(a + "attention.value_length", u32(c.head_dim));
  }
  m.emplace_back(a + "attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(c.rms_eps)));
  m.emplace_back(a + "rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta)));
  if (c.sliding_window > 0) m.emplace_back(a + "attention.sliding_window", u32(c.sliding_window));
  m.emplace_back(a + "vocab_size", u32(c.vocab_size));
  return m;
}

std::vector<GgufNamedTensor> llama_gguf_tensors(const ModelConfig& c, const ModelWeights& w) {
  std::vector<GgufNamedTensor> out;
  out.push_back({"token_embd.weight", w.token_embd, true});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    std::string p = "blk." + std::to_string(l) + ".";
    out.push_back({p + "attn_norm.weight", lw.attn_norm, false});
    out.push_back({p + "attn_q.weight", lw.wq, true});
    out.push_back({p + "attn_k.weight", lw.wk, true});
    out.push_back({p + "attn_v.weight", lw.wv, true});
    out.push_back({p + "attn_output.weight", lw.wo, true});
    out.push_back({p + "ffn_norm.weight", lw.ffn_norm, false});
    out.push_back({p + "ffn_gate.weight", lw.w_gate, true});
    out.push_back({p + "ffn_up.weight", lw.w_up, true});
    out.push_back({p + "ffn_down.weight", lw.w_down, true});
  }
  out.push_back({"output_norm.weight", w.output_norm, false});
  if (!c.tied_embeddings) out.push_back({"output.weight", w.output, true});
  return out;
}

Result<void> write_llama_gguf(const ModelConfig& c, const ModelWeights& w, const GgufMetadata& tokenizer_metadata,
                              const GgufExportOptions& options, const std::string& out_path) {
  GgufWriter writer;
  DType main_type = options.matrix_type.value_or(w.layers.empty() ? DType::F32 : w.layers[0].wq.dtype);
  for (auto& [key, value] : llama_gguf_metadata(c, options.name, gguf_file_type(main_type))) writer.set(key, value);
  for (const auto& [key, value] : tokenizer_metadata) writer.set(key, value);
  for (const GgufNamedTensor& t : llama_gguf_tensors(c, w)) {
    DType target = !t.matrix ? DType::F32 : options.matrix_type.value_or(t.view.dtype);
    if (target == t.view.dtype) {
      OFFICINA_CHECK(writer.add_tensor(t.name, t.view));
      continue;
    }
    std::vector<int64_t> shape(t.view.shape.begin(), t.view.shape.begin() + t.view.ndim);
    OFFICINA_TRY(auto bytes, convert_rows(t.view, target, t.name));
    OFFICINA_CHECK(writer.add_tensor_owned(t.name, target, shape, std::move(bytes)));
  }
  return writer.write(out_path);
}

}  // namespace officina
