#include "model/lora_adapter.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <span>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "base/json_util.h"
#include "base/mapped_file.h"
#include "formats/gguf_file.h"
#include "formats/safetensors_file.h"
#include "model/rope_layout.h"
#include "tensor/quantize.h"

namespace officina {
namespace fs = std::filesystem;

std::string_view lora_target_name(LoraTarget target) {
  static constexpr std::string_view kNames[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return kNames[static_cast<int>(target)];
}

std::pair<int64_t, int64_t> lora_projection_shape(LoraTarget t, const ModelConfig& c) {
  switch (t) {
    case LoraTarget::Q: return {c.q_dim(), c.dim};
    case LoraTarget::K:
    case LoraTarget::V: return {c.kv_dim(), c.dim};
    case LoraTarget::O: return {c.dim, c.q_dim()};
    case LoraTarget::Gate:
    case LoraTarget::Up: return {c.ffn_dim, c.dim};
    case LoraTarget::Down: return {c.dim, c.ffn_dim};
  }
  return {0, 0};
}

namespace {

std::vector<float> to_f32(const TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.elements()));
  for (int64_t r = 0; r < t.rows(); ++r) dequantize_row(t.dtype, t.row(r), &out[r * t.cols()], t.cols());
  return out;
}

// Rows of B (rank floats each) from Hugging Face to GGUF RoPE order.
void permute_b_rows(std::vector<float>& b, int64_t rank, int64_t heads, int64_t head_dim) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(b.data()), b.size() * sizeof(float));
  std::vector<std::byte> permuted = permute_rows_hf_to_gguf(bytes, static_cast<size_t>(rank) * sizeof(float), heads, head_dim);
  std::memcpy(b.data(), permuted.data(), permuted.size());
}

struct TargetName {
  std::string_view hf;
  std::string_view gguf;
  LoraTarget target;
};
constexpr TargetName kTargetNames[] = {
    {"self_attn.q_proj", "attn_q", LoraTarget::Q},      {"self_attn.k_proj", "attn_k", LoraTarget::K},
    {"self_attn.v_proj", "attn_v", LoraTarget::V},      {"self_attn.o_proj", "attn_output", LoraTarget::O},
    {"mlp.gate_proj", "ffn_gate", LoraTarget::Gate},    {"mlp.up_proj", "ffn_up", LoraTarget::Up},
    {"mlp.down_proj", "ffn_down", LoraTarget::Down},
};

}  // namespace

Result<void> LoraAdapter::place(int64_t layer, LoraTarget target, LoraPair pair, const ModelConfig& config,
                                std::string_view where, std::string_view tensor) {
  if (layer < 0 || layer >= config.n_layers)
    return fail("{}: {} is for layer {} but the base model has {} layers", where, tensor, layer, config.n_layers);
  auto [out, in] = lora_projection_shape(target, config);
  if (pair.in_features != in || pair.out_features != out)
    return fail("{}: {} is [{} -> {}] but the base model's {} is [{} -> {}] (an adapter for another model?)", where,
                tensor, pair.in_features, pair.out_features, lora_target_name(target), in, out);
  if (rank_ == 0) rank_ = pair.rank;
  if (static_cast<int64_t>(layers_.size()) < config.n_layers) layers_.resize(static_cast<size_t>(config.n_layers));
  auto& slot = layers_[static_cast<size_t>(layer)][static_cast<size_t>(target)];
  if (slot) return fail("{}: {} appears twice", where, tensor);
  slot = std::move(pair);
  return {};
}

Result<LoraAdapter> load_peft_adapter(const std::string& path, const ModelConfig& config) {
  fs::path dir = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  fs::path weights = fs::is_directory(path) ? dir / "adapter_model.safetensors" : fs::path(path);
  fs::path config_path = dir / "adapter_config.json";
  OFFICINA_TRY(Json cfg, read_json_file(config_path.string(), 1u << 20));
  const std::string where = config_path.string();
  if (cfg.value("peft_type", std::string("LORA")) != "LORA")
    return fail("{}: peft_type '{}' is not LORA", where, cfg.value("peft_type", std::string()));
  OFFICINA_TRY(double r, json_number(cfg, "r", where));
  OFFICINA_TRY(double alpha, json_number_or(cfg, "lora_alpha", r, where));
  OFFICINA_TRY(bool rslora, json_bool_or(cfg, "use_rslora", false, where));
  if (r <= 0) return fail("{}: r must be positive", where);
  if (cfg.value("fan_in_fan_out", false)) return fail("{}: fan_in_fan_out adapters (GPT-2 style) are not supported", where);
  if (cfg.contains("bias") && cfg["bias"].is_string() && cfg["bias"] != "none")
    return fail("{}: bias '{}' is not supported (only \"none\")", where, cfg["bias"].get<std::string>());
  OFFICINA_TRY(SafetensorsFile file, SafetensorsFile::open(weights.string()));
  LoraAdapter out;
  out.path_ = path;
  out.scale_ = static_cast<float>(rslora ? alpha / std::sqrt(r) : alpha / r);
  static const std::regex kName(R"(^(?:base_model\.model\.)?model\.layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)\.lora_A(?:\.default)?\.weight$)");
  for (const auto& t : file.tensors()) {
    if (t.name.find("lora_B") != std::string::npos) continue;  // read with its A
    std::smatch m;
    if (!std::regex_match(t.name, m, kName))
      return fail("{}: tensor '{}' is not a LoRA A matrix of a q/k/v/o/gate/up/down projection (embedding, "
                  "lm_head and bias adapters are not supported)", weights.string(), t.name);
    int64_t layer = std::stoll(m[1].str());
    const TargetName* target = nullptr;
    for (const auto& tn : kTargetNames)
      if (tn.hf == m[2].str()) target = &tn;
    std::string b_name = t.name;
    b_name.replace(b_name.find("lora_A"), 6, "lora_B");
    OFFICINA_TRY(TensorView a, file.view(t.name));
    OFFICINA_TRY(TensorView b, file.view(b_name));
    if (a.ndim != 2 || b.ndim != 2 || b.cols() != a.rows())
      return fail("{}: '{}' {} and '{}' {} do not form a LoRA pair", weights.string(), t.name, shape_string(a), b_name,
                  shape_string(b));
    LoraPair pair{a.rows(), a.cols(), b.rows(), to_f32(a), to_f32(b)};
    if (target->target == LoraTarget::Q && pair.out_features == config.q_dim())
      permute_b_rows(pair.b, pair.rank, config.n_heads, config.head_dim);
    if (target->target == LoraTarget::K && pair.out_features == config.kv_dim())
      permute_b_rows(pair.b, pair.rank, config.n_kv_heads, config.head_dim);
    OFFICINA_CHECK(out.place(layer, target->target, std::move(pair), config, weights.string(), t.name));
  }
  if (out.pair_count() == 0) return fail("{}: no LoRA tensors", weights.string());
  return out;
}

Result<LoraAdapter> load_gguf_adapter(const std::string& path, const ModelConfig& config) {
  OFFICINA_TRY(GgufFile file, GgufFile::open(path));
  if (const GgufValue* type = file.find("general.type")) {
    OFFICINA_TRY(std::string t, type->as_string("general.type"));
    if (t != "adapter") return fail("{}: general.type is '{}', not 'adapter' (is this a model, not a LoRA?)", path, t);
  }
  if (const GgufValue* kind = file.find("adapter.type")) {
    OFFICINA_TRY(std::string k, kind->as_string("adapter.type"));
    if (k != "lora") return fail("{}: adapter.type '{}' is not lora", path, k);
  }
  OFFICINA_TRY(double alpha, file.get_float_or("adapter.lora.alpha", 0.0));
  LoraAdapter out;
  out.path_ = path;
  static const std::regex kName(R"(^blk\.(\d+)\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight\.lora_a$)");
  for (const auto& t : file.tensors()) {
    if (t.name.ends_with(".lora_b")) continue;
    std::smatch m;
    if (!std::regex_match(t.name, m, kName))
      return fail("{}: tensor '{}' is not a LoRA A matrix of a q/k/v/o/gate/up/down projection", path, t.name);
    const TargetName* target = nullptr;
    for (const auto& tn : kTargetNames)
      if (tn.gguf == m[2].str()) target = &tn;
    std::string b_name = t.name.substr(0, t.name.size() - 1) + "b";
    const GgufTensorInfo* b = file.find_tensor(b_name);
    if (!b) return fail("{}: '{}' has no matching '{}'", path, t.name, b_name);
    if (t.view.ndim != 2 || b->view.ndim != 2 || b->view.cols() != t.view.rows())
      return fail("{}: '{}' {} and '{}' {} do not form a LoRA pair", path, t.name, shape_string(t.view), b_name,
                  shape_string(b->view));
    LoraPair pair{t.view.rows(), t.view.cols(), b->view.rows(), to_f32(t.view), to_f32(b->view)};
    OFFICINA_CHECK(out.place(std::stoll(m[1].str()), target->target, std::move(pair), config, path, t.name));
  }
  if (out.pair_count() == 0) return fail("{}: no LoRA tensors", path);
  out.scale_ = alpha > 0 ? static_cast<float>(alpha / static_cast<double>(out.rank_)) : 1.0f;
  return out;
}

namespace {
void fill_b_transposed(LoraPair& p) {
  p.b_t.resize(p.b.size());
  for (int64_t o = 0; o < p.out_features; ++o)
    for (int64_t r = 0; r < p.rank; ++r)
      p.b_t[static_cast<size_t>(r * p.out_features + o)] = p.b[static_cast<size_t>(o * p.rank + r)];
}
}  // namespace

Result<LoraAdapter> LoraAdapter::load(const std::string& path, const ModelConfig& config, float multiplier) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return fail("{}: no such adapter (a PEFT directory, adapter_model.safetensors or a GGUF LoRA)", path);
  // A GGUF LoRA by its name or, for a file without one (a memory file the
  // platform decrypts adapters into), by its magic.
  bool gguf = path.ends_with(".gguf");
  if (!gguf && fs::is_regular_file(path, ec)) {
    char magic[4] = {};
    std::ifstream in(path, std::ios::binary);
    gguf = in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
  }
  Result<LoraAdapter> adapter = gguf ? load_gguf_adapter(path, config) : load_peft_adapter(path, config);
  if (!adapter) return adapter;
  for (auto& layer : adapter->layers_)
    for (auto& pair : layer)
      if (pair) {
        adapter->rank_ = std::max(adapter->rank_, pair->rank);
        fill_b_transposed(*pair);
      }
  adapter->scale_ *= multiplier;
  return adapter;
}

LoraAdapter LoraAdapter::stack(std::vector<LoraAdapter> parts) {
  if (parts.size() == 1) return std::move(parts[0]);
  LoraAdapter out;
  out.scale_ = 1.0f;
  for (const auto& part : parts) {
    out.path_ += (out.path_.empty() ? "" : "+") + part.path_;
    if (part.layers_.size() > out.layers_.size()) out.layers_.resize(part.layers_.size());
  }
  for (size_t l = 0; l < out.layers_.size(); ++l) {
    for (int t = 0; t < kLoraTargets; ++t) {
      std::vector<const LoraPair*> pairs;
      std::vector<float> scales;
      for (const auto& part : parts) {
        if (l < part.layers_.size() && part.layers_[l][t]) {
          pairs.push_back(&*part.layers_[l][t]);
          scales.push_back(part.scale_);
        }
      }
      if (pairs.empty()) continue;
      LoraPair merged;
      merged.in_features = pairs[0]->in_features;
      merged.out_features = pairs[0]->out_features;
      for (const LoraPair* p : pairs) merged.rank += p->rank;
      merged.b.assign(static_cast<size_t>(merged.out_features * merged.rank), 0.0f);
      int64_t offset = 0;
      for (size_t k = 0; k < pairs.size(); ++k) {
        const LoraPair& p = *pairs[k];
        merged.a.insert(merged.a.end(), p.a.begin(), p.a.end());
        for (int64_t o = 0; o < p.out_features; ++o)
          for (int64_t r = 0; r < p.rank; ++r)
            merged.b[static_cast<size_t>(o * merged.rank + offset + r)] = scales[k] * p.b[static_cast<size_t>(o * p.rank + r)];
        offset += p.rank;
      }
      out.rank_ = std::max(out.rank_, merged.rank);
      fill_b_transposed(merged);
      out.layers_[l][t] = std::move(merged);
    }
  }
  return out;
}

Result<std::pair<std::string, float>> LoraAdapter::parse_spec(std::string_view spec) {
  size_t colon = spec.rfind(':');
  if (colon != std::string_view::npos && colon + 1 < spec.size()) {
    std::string_view tail = spec.substr(colon + 1);
    float scale = 0;
    auto [p, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), scale);
    if (ec == std::errc() && p == tail.data() + tail.size()) {
      if (!std::isfinite(scale)) return fail("--lora {}: the scale must be a finite number", spec);
      return std::pair{std::string(spec.substr(0, colon)), scale};
    }
  }
  if (spec.empty()) return fail("--lora: empty adapter path");
  return std::pair{std::string(spec), 1.0f};
}

std::string LoraAdapter::name() const {
  fs::path p(path_);
  if (p.filename() == "adapter_model.safetensors" || p.filename() == "adapter.gguf") p = p.parent_path();
  if (!p.has_filename()) p = p.parent_path();
  return p.stem().string();
}

const LoraPair* LoraAdapter::find(int64_t layer, LoraTarget target) const {
  if (layer < 0 || layer >= static_cast<int64_t>(layers_.size())) return nullptr;
  const auto& slot = layers_[static_cast<size_t>(layer)][static_cast<size_t>(target)];
  return slot ? &*slot : nullptr;
}

int64_t LoraAdapter::pair_count() const {
  int64_t n = 0;
  for (const auto& layer : layers_)
    for (const auto& pair : layer) n += pair.has_value();
  return n;
}

}  // namespace officina
