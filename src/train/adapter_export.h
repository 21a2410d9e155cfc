// Writing trained LoRA adapters in the two forms other tools read:
//   - PEFT: adapter_config.json + adapter_model.safetensors (Hugging Face
//     names and layout; q/k B rows back in Hugging Face RoPE order), which
//     transformers/PEFT and `officina --lora DIR` load;
//   - GGUF LoRA as llama.cpp's convert_lora_to_gguf writes it
//     (general.type = adapter, adapter.type = lora, adapter.lora.alpha,
//     blk.N.<tensor>.weight.lora_a [rank, in] / .lora_b [out, rank], q/k B
//     rows in GGUF order), which `llama-cli --lora` and officina load.
// And merging an adapter into a base model (W += scale·B·A), written as GGUF.
// Every file is written atomically (temporary name, then rename).
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "base/error.h"
#include "model/lora_adapter.h"
#include "model/model.h"
#include "train/lora_params.h"

namespace officina {

struct AdapterInfo {
  std::string base_model;  // base_model_name_or_path
  double dropout = 0.0;
};

// Writes DIR/adapter_config.json and DIR/adapter_model.safetensors.
Result<void> write_peft_adapter(const LoraParams& params, const AdapterInfo& info, const std::string& dir);
// Writes a GGUF LoRA file.
Result<void> write_gguf_adapter(const LoraParams& params, const AdapterInfo& info, const std::string& path);

// base + adapter → OUT.gguf with merged weights in `type` (default: the
// base's matrix type; quantized bases are re-quantized after merging).
Result<void> merge_lora(const Model& base, const LoraAdapter& adapter, const std::string& out_path,
                        std::optional<DType> type = std::nullopt);

}  // namespace officina
