// The trainable side of LoRA: for each adapted (layer, projection) an A
// [rank, in] and B [out, rank] in F32 with their gradients. Values live in
// the engine's layout (GGUF RoPE order for the B rows of q and k); the PEFT
// view (Hugging Face order and names) is produced for saving and for
// comparing with reference gradients.
// Thread-safety: not thread-safe; one trainer owns it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "model/lora_adapter.h"
#include "model/model_config.h"

namespace officina {

struct TrainPair {
  int64_t layer = 0;
  LoraTarget target = LoraTarget::Q;
  int64_t rank = 0, in_features = 0, out_features = 0;
  std::vector<float> a, b;            // [rank, in], [out, rank]
  std::vector<float> grad_a, grad_b;  // same shapes
};

struct LoraInit {
  int64_t rank = 16;
  double alpha = 32;
  bool rslora = false;
  std::array<bool, kLoraTargets> targets{true, true, true, true, true, true, true};
  uint64_t seed = 0;
};

// One named tensor in PEFT layout.
struct PeftTensor {
  std::string name;  // base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
  int64_t rows = 0, cols = 0;
  std::vector<float> data;
};

class LoraParams {
 public:
  // PEFT's initialisation: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming-uniform
  // with a = sqrt(5)), B = 0, from a seeded generator. Fails on rank < 1.
  static Result<LoraParams> init(const ModelConfig& config, const LoraInit& init);
  // init() with B drawn from N(0, b_std²) too, so the adapter changes the
  // model's output at once (tests, serving benchmarks).
  static Result<LoraParams> random(const ModelConfig& config, const LoraInit& init, double b_std);
  // Copies a loaded adapter (to continue training it).
  static LoraParams from_adapter(const LoraAdapter& adapter, const ModelConfig& config, double alpha);

  float scale() const { return scale_; }
  int64_t rank() const { return rank_; }
  double alpha() const { return alpha_; }
  std::vector<TrainPair>& pairs() { return pairs_; }
  const std::vector<TrainPair>& pairs() const { return pairs_; }
  // The pair on (layer, target) or nullptr.
  TrainPair* find(int64_t layer, LoraTarget target);
  const TrainPair* find(int64_t layer, LoraTarget target) const;
  void zero_grad();
  int64_t parameter_count() const;

  // Values (or gradients) in PEFT names and layout.
  std::vector<PeftTensor> peft_tensors(bool gradients = false) const;
  // The target module names for adapter_config.json ("q_proj", ...).
  std::vector<std::string> target_modules() const;

 private:
  void index();
  ModelConfig config_copy_;
  float scale_ = 1.0f;
  double alpha_ = 0;
  int64_t rank_ = 0;
  std::vector<TrainPair> pairs_;
  std::vector<std::array<int32_t, kLoraTargets>> lookup_;  // [layer][target] -> pair index or -1
};

}  // namespace officina
