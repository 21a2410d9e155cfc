#include "train/full_params.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "formats/gguf_file.h"
#include "formats/gguf_writer.h"
#include "model/gguf_export.h"
#include "tensor/quantize.h"

namespace officina {
namespace {

// The weight views of `w` and the gradient slots of `g`, in llama_gguf_tensors
// order (token_embd, per layer attn_norm, q, k, v, o, ffn_norm, gate, up,
// down, then output_norm and output unless tied).
struct Slot {
  TensorView* view;
  float** grad;
};

std::vector<Slot> slots(const ModelConfig& c, ModelWeights& w, ModelGrads& g) {
  std::vector<Slot> out;
  out.push_back({&w.token_embd, &g.token_embd});
  for (size_t l = 0; l < w.layers.size(); ++l) {
    LayerWeights& lw = w.layers[l];
    LayerGrads& lg = g.layers[l];
    out.push_back({&lw.attn_norm, &lg.attn_norm});
    out.push_back({&lw.wq, &lg.wq});
    out.push_back({&lw.wk, &lg.wk});
    out.push_back({&lw.wv, &lg.wv});
    out.push_back({&lw.wo, &lg.wo});
    out.push_back({&lw.ffn_norm, &lg.ffn_norm});
    out.push_back({&lw.w_gate, &lg.w_gate});
    out.push_back({&lw.w_up, &lg.w_up});
    out.push_back({&lw.w_down, &lg.w_down});
  }
  out.push_back({&w.output_norm, &g.output_norm});
  if (!c.tied_embeddings) out.push_back({&w.output, &g.output});
  return out;
}

}  // namespace

Result<FullParams> FullParams::from_weights(const ModelConfig& config, const ModelWeights& weights,
                                            std::string_view where) {
  FullParams p;
  p.config_ = config;
  for (const GgufNamedTensor& t : llama_gguf_tensors(config, weights)) {
    if (t.matrix && t.view.dtype != DType::F32)
      return fail("--full needs an F32 model: {} stores '{}' as {}; convert it first with "
                  "`officina convert MODEL OUT.gguf --type F32`",
                  where, t.name, dtype_name(t.view.dtype));
    FullTensor f;
    f.name = t.name;
    f.shape.assign(t.view.shape.begin(), t.view.shape.begin() + t.view.ndim);
    f.matrix = t.matrix;
    const int64_t cols = t.view.ndim >= 2 ? t.view.cols() : t.view.elements();
    const int64_t rows = t.view.elements() / cols;
    f.value.resize(static_cast<size_t>(t.view.elements()));
    // Norms may be stored F16/BF16 in a file; the model already holds them as F32.
    for (int64_t r = 0; r < rows; ++r)
      dequantize_row(t.view.dtype, t.view.data + static_cast<size_t>(r) * dtype_row_bytes(t.view.dtype, cols),
                     &f.value[static_cast<size_t>(r * cols)], cols);
    f.grad.assign(f.value.size(), 0.0f);
    p.tensors_.push_back(std::move(f));
  }
  p.link();
  return p;
}

Result<FullParams> FullParams::from_model(const Model& model) {
  return from_weights(model.config(), model.weights(), model.path());
}

void FullParams::link() {
  weights_ = ModelWeights{};
  grads_ = ModelGrads{};
  weights_.layers.resize(static_cast<size_t>(config_.n_layers));
  grads_.layers.resize(static_cast<size_t>(config_.n_layers));
  std::vector<Slot> s = slots(config_, weights_, grads_);
  for (size_t i = 0; i < s.size(); ++i) {
    FullTensor& t = tensors_[i];
    TensorView& v = *s[i].view;
    v.dtype = DType::F32;
    v.ndim = static_cast<int>(t.shape.size());
    for (size_t d = 0; d < t.shape.size(); ++d) v.shape[d] = t.shape[d];
    v.data = reinterpret_cast<const std::byte*>(t.value.data());
    *s[i].grad = t.grad.data();
  }
  if (config_.tied_embeddings) {
    weights_.output = weights_.token_embd;
    grads_.output = grads_.token_embd;
  }
}

FullTensor* FullParams::find(std::string_view name) {
  for (FullTensor& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

void FullParams::zero_grad() {
  for (FullTensor& t : tensors_) std::fill(t.grad.begin(), t.grad.end(), 0.0f);
}

int64_t FullParams::parameter_count() const {
  int64_t n = 0;
  for (const FullTensor& t : tensors_) n += static_cast<int64_t>(t.value.size());
  return n;
}

std::vector<ParamTensor> FullParams::param_tensors() {
  std::vector<ParamTensor> out;
  for (FullTensor& t : tensors_) out.push_back({t.name, t.shape, t.value, t.grad, t.matrix});
  return out;
}

Result<void> write_full_model(const Model& source, const FullParams& params, const std::string& path) {
  const GgufFile* g = source.gguf();
  if (!g) {
    OFFICINA_TRY(GgufMetadata tokenizer, tokenizer_gguf_metadata(source));
    GgufExportOptions options;
    options.name = source.name();
    return write_llama_gguf(params.config(), params.weights(), tokenizer, options, path);
  }
  std::map<std::string, const FullTensor*, std::less<>> trained;
  for (const FullTensor& t : params.tensors()) trained.emplace(t.name, &t);
  GgufWriter writer;
  writer.copy_metadata(*g);
  writer.set("general.file_type", GgufValue::u32(gguf_file_type(DType::F32)));
  writer.remove("general.quantization_version");
  for (const GgufTensorInfo& info : g->tensors()) {
    auto it = trained.find(info.name);
    if (it == trained.end()) {
      OFFICINA_CHECK(writer.add_tensor(info.name, info.view));
      continue;
    }
    const FullTensor& t = *it->second;
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(t.value.data()), t.value.size() * sizeof(float));
    OFFICINA_CHECK(writer.add_tensor(t.name, DType::F32, t.shape, bytes));
    trained.erase(it);
  }
  if (!trained.empty())
    return fail("{}: the source {} has no tensor '{}' to write the trained one into", path, source.path(),
                trained.begin()->first);
  return writer.write(path);
}

}  // namespace officina
