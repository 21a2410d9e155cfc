#include "model/model.h"

#include <cstring>
#include <filesystem>

#include "formats/gguf_file.h"
#include "formats/hf_checkpoint.h"
#include "model/rope_layout.h"
#include "tensor/quantize.h"

namespace officina {

Model::Model() = default;
Model::~Model() = default;

std::string Model::name() const {
  std::filesystem::path p(path_);
  if (p.filename().empty()) p = p.parent_path();  // "dir/" -> "dir"
  return source_ == ModelSource::Gguf ? p.stem().string() : p.filename().string();
}

Result<void> check_tensor_shape(const TensorView& t, std::initializer_list<int64_t> expected,
                                std::string_view name, std::string_view where) {
  bool ok = t.ndim == static_cast<int>(expected.size());
  for (size_t i = 0; ok && i < expected.size(); ++i) ok = t.shape[i] == expected.begin()[i];
  if (!ok) {
    TensorView want;
    want.ndim = static_cast<int>(expected.size());
    for (size_t i = 0; i < expected.size(); ++i) want.shape[i] = expected.begin()[i];
    return fail("{}: tensor '{}' has shape {}, expected {}", where, name, shape_string(t), shape_string(want));
  }
  return {};
}

TensorView Model::keep(TensorView view, std::vector<std::byte> bytes) {
  owned_.push_back(std::make_unique<std::vector<std::byte>>(std::move(bytes)));
  view.data = owned_.back()->data();
  return view;
}

TensorView Model::keep_f32(const TensorView& t) {
  if (t.dtype == DType::F32) return t;
  std::vector<std::byte> bytes(static_cast<size_t>(t.elements()) * sizeof(float));
  for (int64_t r = 0; r < t.rows(); ++r)
    dequantize_row(t.dtype, t.row(r), reinterpret_cast<float*>(bytes.data()) + r * t.cols(), t.cols());
  TensorView out = t;
  out.dtype = DType::F32;
  return keep(out, std::move(bytes));
}

Result<std::unique_ptr<Model>> Model::load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return load_hf(path);
  if (!std::filesystem::exists(path, ec))
    return fail("{}: no such file or directory (MODEL is a .gguf file or a Hugging Face directory)", path);
  return load_gguf(path);
}

namespace {

// Resolves the tensors of one model by name, checking shapes, through a
// lookup function so GGUF and Hugging Face share the checks.
struct TensorNames {
  std::string token_embd, output_norm, output;
  std::string layer_prefix;  // "blk.{}." or "model.layers.{}."
  std::string attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
};

const TensorNames kGgufNames{"token_embd.weight", "output_norm.weight", "output.weight", "blk.",
                             "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
                             "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight",
                             "ffn_down.weight"};
const TensorNames kHfNames{"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers.",
                           "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                           "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                           "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"};

using Lookup = std::function<const TensorView*(const std::string&)>;

Result<TensorView> require(const Lookup& lookup, const std::string& name, std::initializer_list<int64_t> shape,
                           std::string_view where) {
  const TensorView* t = lookup(name);
  if (!t) return fail("{}: missing tensor '{}'", where, name);
  OFFICINA_CHECK(check_tensor_shape(*t, shape, name, where));
  return *t;
}

Result<ModelWeights> resolve_weights(const ModelConfig& c, const TensorNames& n, const Lookup& lookup,
                                     std::string_view where) {
  ModelWeights w;
  OFFICINA_TRY(w.token_embd, require(lookup, n.token_embd, {c.vocab_size, c.dim}, where));
  OFFICINA_TRY(w.output_norm, require(lookup, n.output_norm, {c.dim}, where));
  if (c.tied_embeddings) {
    w.output = w.token_embd;
  } else {
    OFFICINA_TRY(w.output, require(lookup, n.output, {c.vocab_size, c.dim}, where));
  }
  for (int64_t l = 0; l < c.n_layers; ++l) {
    std::string p = n.layer_prefix + std::to_string(l) + ".";
    LayerWeights lw;
    OFFICINA_TRY(lw.attn_norm, require(lookup, p + n.attn_norm, {c.dim}, where));
    OFFICINA_TRY(lw.wq, require(lookup, p + n.wq, {c.q_dim(), c.dim}, where));
    OFFICINA_TRY(lw.wk, require(lookup, p + n.wk, {c.kv_dim(), c.dim}, where));
    OFFICINA_TRY(lw.wv, require(lookup, p + n.wv, {c.kv_dim(), c.dim}, where));
    OFFICINA_TRY(lw.wo, require(lookup, p + n.wo, {c.dim, c.q_dim()}, where));
    OFFICINA_TRY(lw.ffn_norm, require(lookup, p + n.ffn_norm, {c.dim}, where));
    OFFICINA_TRY(lw.w_gate, require(lookup, p + n.w_gate, {c.ffn_dim, c.dim}, where));
    OFFICINA_TRY(lw.w_up, require(lookup, p + n.w_up, {c.ffn_dim, c.dim}, where));
    OFFICINA_TRY(lw.w_down, require(lookup, p + n.w_down, {c.dim, c.ffn_dim}, where));
    w.layers.push_back(lw);
  }
  return w;
}

}  // namespace

Result<std::unique_ptr<Model>> Model::load_gguf(const std::string& path) {
  std::unique_ptr<Model> m(new Model());
  m->path_ = path;
  m->source_ = ModelSource::Gguf;
  OFFICINA_TRY(GgufFile file, GgufFile::open(path));
  m->gguf_ = std::make_unique<GgufFile>(std::move(file));
  const GgufFile& g = *m->gguf_;
  OFFICINA_TRY(m->config_, model_config_from_gguf(g));
  Lookup lookup = [&](const std::string& name) -> const TensorView* {
    const GgufTensorInfo* info = g.find_tensor(name);
    return info ? &info->view : nullptr;
  };
  OFFICINA_TRY(m->weights_, resolve_weights(m->config_, kGgufNames, lookup, path));
  OFFICINA_TRY(Tokenizer tok, Tokenizer::from_gguf(g));
  if (tok.vocab_size() != m->config_.vocab_size)
    return fail("{}: tokenizer has {} tokens but token_embd has {} rows", path, tok.vocab_size(),
                m->config_.vocab_size);
  m->tokenizer_ = std::make_unique<Tokenizer>(std::move(tok));
  ModelWeights& w = m->weights_;
  w.output_norm = m->keep_f32(w.output_norm);
  for (auto& l : w.layers) {
    l.attn_norm = m->keep_f32(l.attn_norm);
    l.ffn_norm = m->keep_f32(l.ffn_norm);
  }
  return m;
}

Result<std::unique_ptr<Model>> Model::load_hf(const std::string& path) {
  std::unique_ptr<Model> m(new Model());
  m->path_ = path;
  m->source_ = ModelSource::HuggingFace;
  OFFICINA_TRY(HfCheckpoint ckpt, HfCheckpoint::open(path));
  m->hf_ = std::make_unique<HfCheckpoint>(std::move(ckpt));
  const HfCheckpoint& hf = *m->hf_;
  std::string config_where = path + "/config.json";
  OFFICINA_TRY(m->config_, model_config_from_hf(hf.config(), config_where));
  Lookup lookup = [&](const std::string& name) { return hf.find_tensor(name); };
  OFFICINA_TRY(m->weights_, resolve_weights(m->config_, kHfNames, lookup, path));
  if (hf.tokenizer_path().empty())
    return fail("{}: no tokenizer.json (officina needs the Hugging Face fast-tokenizer file)", path);
  OFFICINA_TRY(Tokenizer tok, Tokenizer::from_json_files(hf.tokenizer_path(), hf.tokenizer_config_path()));
  if (tok.vocab_size() > m->config_.vocab_size)
    return fail("{}: tokenizer has {} tokens but the model's vocab_size is {}", path, tok.vocab_size(),
                m->config_.vocab_size);
  m->tokenizer_ = std::make_unique<Tokenizer>(std::move(tok));

  const ModelConfig& c = m->config_;
  ModelWeights& w = m->weights_;
  w.output_norm = m->keep_f32(w.output_norm);
  for (auto& l : w.layers) {
    l.attn_norm = m->keep_f32(l.attn_norm);
    l.ffn_norm = m->keep_f32(l.ffn_norm);
    // The engine uses the GGUF (interleaved) RoPE layout.
    auto bytes = [](const TensorView& t) { return std::span<const std::byte>(t.data, t.bytes()); };
    l.wq = m->keep(l.wq, permute_rows_hf_to_gguf(bytes(l.wq), l.wq.row_bytes(), c.n_heads, c.head_dim));
    l.wk = m->keep(l.wk, permute_rows_hf_to_gguf(bytes(l.wk), l.wk.row_bytes(), c.n_kv_heads, c.head_dim));
  }
  return m;
}

}  // namespace officina
