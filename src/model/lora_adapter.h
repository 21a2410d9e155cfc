// LoRA adapters for inference: W·x + scale·B·(A·x) on any of the seven
// projections (q, k, v, o, gate, up, down) of each layer. Loaded from
//   - a PEFT directory (adapter_config.json + adapter_model.safetensors) or
//     the .safetensors file itself (adapter_config.json beside it), with
//     Hugging Face tensor names; scale = lora_alpha / r (/ sqrt(r) with
//     use_rslora);
//   - a llama.cpp GGUF LoRA (general.type = adapter, adapter.lora.alpha,
//     blk.N.<tensor>.weight.lora_a / .lora_b); scale = alpha / rank.
// A and B are kept in F32: A [rank, in_features], B [out_features, rank].
// The engine works in GGUF's interleaved RoPE layout, so the B rows of q and
// k in PEFT adapters are permuted like the base weights (rope_layout.h);
// GGUF adapters already are. `multiplier` (the :SCALE of --lora PATH:SCALE)
// multiplies the scale.
// Thread-safety: immutable after load.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "model/model_config.h"

namespace officina {

enum class LoraTarget : uint8_t { Q, K, V, O, Gate, Up, Down };
inline constexpr int kLoraTargets = 7;
std::string_view lora_target_name(LoraTarget target);  // "q_proj", ..., "down_proj"
// {out_features, in_features} of a projection in a model of `config`.
std::pair<int64_t, int64_t> lora_projection_shape(LoraTarget target, const ModelConfig& config);

struct LoraPair {
  int64_t rank = 0;
  int64_t in_features = 0;
  int64_t out_features = 0;
  std::vector<float> a;  // [rank, in_features]
  std::vector<float> b;  // [out_features, rank]
  // b transposed, [rank, out_features], for inference: B·t as rank row
  // updates over the outputs. Filled by LoraAdapter::load and stack (the
  // adapters the Transformer applies); training's pairs leave it empty.
  std::vector<float> b_t;
};

class LoraAdapter {
 public:
  // Checks every pair against `config` ("adapter.gguf: blk.1.attn_k.weight.lora_b
  // has shape [96, 4] but the base model's k projection has 32 outputs").
  static Result<LoraAdapter> load(const std::string& path, const ModelConfig& config, float multiplier = 1.0f);

  // Several adapters applied together (--lora given more than once) as one:
  // per projection A = [A1; A2; ...] and B = [s1·B1, s2·B2, ...] with scale 1,
  // which is exactly the sum of their contributions.
  static LoraAdapter stack(std::vector<LoraAdapter> parts);

  // Parses "PATH" or "PATH:SCALE" (the --lora option value).
  static Result<std::pair<std::string, float>> parse_spec(std::string_view spec);

  const std::string& path() const { return path_; }
  std::string name() const;  // file or directory name without extension
  float scale() const { return scale_; }
  int64_t rank() const { return rank_; }  // the largest rank of its pairs
  // The pair on (layer, target), or nullptr when the adapter leaves it alone.
  const LoraPair* find(int64_t layer, LoraTarget target) const;
  // Number of (layer, target) pairs present.
  int64_t pair_count() const;

 private:
  std::string path_;
  float scale_ = 1.0f;
  int64_t rank_ = 0;
  std::vector<std::array<std::optional<LoraPair>, kLoraTargets>> layers_;

  friend Result<LoraAdapter> load_peft_adapter(const std::string&, const ModelConfig&);
  friend Result<LoraAdapter> load_gguf_adapter(const std::string&, const ModelConfig&);
  Result<void> place(int64_t layer, LoraTarget target, LoraPair pair, const ModelConfig& config,
                     std::string_view where, std::string_view tensor);
};

}  // namespace officina
