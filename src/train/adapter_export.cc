#include "train/adapter_export.h"

#include <filesystem>

#include "base/atomic_file.h"
#include "formats/gguf_writer.h"
#include "formats/safetensors_file.h"
#include "model/gguf_export.h"
#include "tensor/quantize.h"

namespace officina {
namespace {

std::span<const std::byte> bytes_of(const std::vector<float>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(float)};
}

std::string_view gguf_name(LoraTarget t) {
  static constexpr std::string_view kNames[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
  return kNames[static_cast<int>(t)];
}

Result<void> write_text_atomic(const std::string& path, const std::string& text) {
  OFFICINA_TRY(AtomicFile file, AtomicFile::create(path));
  OFFICINA_CHECK(file.write(text.data(), text.size()));
  return file.commit();
}

}  // namespace

Result<void> write_peft_adapter(const LoraParams& params, const AdapterInfo& info, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail("{}: cannot create the adapter directory ({})", dir, ec.message());
  std::vector<PeftTensor> tensors = params.peft_tensors();
  std::vector<SafetensorsWriteTensor> out;
  for (const auto& t : tensors)
    out.push_back({t.name, DType::F32, {t.rows, t.cols}, bytes_of(t.data)});
  OFFICINA_CHECK(write_safetensors(dir + "/adapter_model.safetensors", out, {{"format", "pt"}}));
  nlohmann::ordered_json config = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"r", params.rank()},
      {"lora_alpha", params.alpha()},
      {"lora_dropout", info.dropout},
      {"bias", "none"},
      {"target_modules", params.target_modules()},
      {"base_model_name_or_path", info.base_model},
      {"fan_in_fan_out", false},
      {"use_rslora", false},
      {"inference_mode", true},
  };
  return write_text_atomic(dir + "/adapter_config.json", config.dump(2) + "\n");
}

Result<void> write_gguf_adapter(const LoraParams& params, const AdapterInfo& info, const std::string& path) {
  GgufWriter writer;
  writer.set("general.architecture", GgufValue::string("llama"));
  writer.set("general.type", GgufValue::string("adapter"));
  writer.set("general.name", GgufValue::string(info.base_model.empty() ? "officina-lora" : info.base_model + "-lora"));
  writer.set("adapter.type", GgufValue::string("lora"));
  writer.set("adapter.lora.alpha", GgufValue::f32(static_cast<float>(params.alpha())));
  for (const auto& p : params.pairs()) {
    const std::string base = "blk." + std::to_string(p.layer) + "." + std::string(gguf_name(p.target)) + ".weight";
    const int64_t a_shape[] = {p.rank, p.in_features};
    const int64_t b_shape[] = {p.out_features, p.rank};
    OFFICINA_CHECK(writer.add_tensor(base + ".lora_a", DType::F32, a_shape, bytes_of(p.a)));
    OFFICINA_CHECK(writer.add_tensor(base + ".lora_b", DType::F32, b_shape, bytes_of(p.b)));
  }
  return writer.write(path);
}

Result<void> merge_lora(const Model& base, const LoraAdapter& adapter, const std::string& out_path,
                        std::optional<DType> type) {
  const ModelConfig& c = base.config();
  ModelWeights merged = base.weights();
  std::vector<std::vector<float>> storage;  // keeps merged F32 matrices alive until written
  const float scale = adapter.scale();
  for (int64_t l = 0; l < c.n_layers; ++l) {
    LayerWeights& lw = merged.layers[static_cast<size_t>(l)];
    TensorView* views[] = {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down};
    for (int t = 0; t < kLoraTargets; ++t) {
      const LoraPair* pair = adapter.find(l, static_cast<LoraTarget>(t));
      if (!pair) continue;
      TensorView& w = *views[t];
      std::vector<float> dense(static_cast<size_t>(w.elements()));
      for (int64_t r = 0; r < w.rows(); ++r) dequantize_row(w.dtype, w.row(r), &dense[r * w.cols()], w.cols());
      // W[o, i] += scale · Σ_k B[o, k] · A[k, i]
      for (int64_t o = 0; o < pair->out_features; ++o)
        for (int64_t k = 0; k < pair->rank; ++k) {
          const float b = scale * pair->b[o * pair->rank + k];
          if (b == 0.0f) continue;
          const float* a = &pair->a[k * pair->in_features];
          float* row = &dense[o * pair->in_features];
          for (int64_t i = 0; i < pair->in_features; ++i) row[i] += b * a[i];
        }
      storage.push_back(std::move(dense));
      TensorView view = w;
      view.dtype = DType::F32;
      view.data = reinterpret_cast<const std::byte*>(storage.back().data());
      w = view;
    }
  }
  OFFICINA_TRY(GgufMetadata tokenizer, tokenizer_gguf_metadata(base));
  GgufExportOptions options;
  options.name = base.name() + "+" + adapter.name();
  options.matrix_type = type.value_or(base.weights().layers.empty() ? DType::F32 : base.weights().layers[0].wq.dtype);
  return write_llama_gguf(c, merged, tokenizer, options, out_path);
}

}  // namespace officina
