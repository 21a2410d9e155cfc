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
    case DType::Q4_K: return 15;  // Q4_K_M
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

Result<void> write_llama_gguf(const ModelConfig& c, const ModelWeights& w, const GgufMetadata& tokenizer_metadata,
                              const GgufExportOptions& options, const std::string& out_path) {
  GgufWriter writer;
  const std::string a = "llama.";
  DType main_type = options.matrix_type.value_or(w.layers.empty() ? DType::F32 : w.layers[0].wq.dtype);
  writer.set("general.architecture", GgufValue::string("llama"));
  writer.set("general.name", GgufValue::string(options.name.empty() ? "officina" : options.name));
  writer.set("general.file_type", GgufValue::u32(gguf_file_type(main_type)));
  writer.set(a + "context_length", GgufValue::u32(static_cast<uint32_t>(c.context_length)));
  writer.set(a + "embedding_length", GgufValue::u32(static_cast<uint32_t>(c.dim)));
  writer.set(a + "block_count", GgufValue::u32(static_cast<uint32_t>(c.n_layers)));
  writer.set(a + "feed_forward_length", GgufValue::u32(static_cast<uint32_t>(c.ffn_dim)));
  writer.set(a + "rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(c.head_dim)));
  writer.set(a + "attention.head_count", GgufValue::u32(static_cast<uint32_t>(c.n_heads)));
  writer.set(a + "attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(c.n_kv_heads)));
  if (c.head_dim * c.n_heads != c.dim) {
    writer.set(a + "attention.key_length", GgufValue::u32(static_cast<uint32_t>(c.head_dim)));
    writer.set(a + "attention.value_length", GgufValue::u32(static_cast<uint32_t>(c.head_dim)));
  }
  writer.set(a + "attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(c.rms_eps)));
  writer.set(a + "rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta)));
  if (c.sliding_window > 0)
    writer.set(a + "attention.sliding_window", GgufValue::u32(static_cast<uint32_t>(c.sliding_window)));
  writer.set(a + "vocab_size", GgufValue::u32(static_cast<uint32_t>(c.vocab_size)));
  for (const auto& [key, value] : tokenizer_metadata) writer.set(key, value);

  auto add = [&](const std::string& name, const TensorView& t, bool matrix) -> Result<void> {
    std::vector<int64_t> shape(t.shape.begin(), t.shape.begin() + t.ndim);
    DType target = !matrix ? DType::F32 : options.matrix_type.value_or(t.dtype);
    if (target == t.dtype) return writer.add_tensor(name, t);
    OFFICINA_TRY(auto bytes, convert_rows(t, target, name));
    return writer.add_tensor_owned(name, target, shape, std::move(bytes));
  };
  OFFICINA_CHECK(add("token_embd.weight", w.token_embd, true));
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    std::string p = "blk." + std::to_string(l) + ".";
    OFFICINA_CHECK(add(p + "attn_norm.weight", lw.attn_norm, false));
    OFFICINA_CHECK(add(p + "attn_q.weight", lw.wq, true));
    OFFICINA_CHECK(add(p + "attn_k.weight", lw.wk, true));
    OFFICINA_CHECK(add(p + "attn_v.weight", lw.wv, true));
    OFFICINA_CHECK(add(p + "attn_output.weight", lw.wo, true));
    OFFICINA_CHECK(add(p + "ffn_norm.weight", lw.ffn_norm, false));
    OFFICINA_CHECK(add(p + "ffn_gate.weight", lw.w_gate, true));
    OFFICINA_CHECK(add(p + "ffn_up.weight", lw.w_up, true));
    OFFICINA_CHECK(add(p + "ffn_down.weight", lw.w_down, true));
  }
  OFFICINA_CHECK(add("output_norm.weight", w.output_norm, false));
  if (!c.tied_embeddings) OFFICINA_CHECK(add("output.weight", w.output, true));
  if (auto ok = writer.write(out_path); !ok) return ok;
  return {};
}

}  // namespace officina
