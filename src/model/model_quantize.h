// Quantizes a whole model into a new GGUF file, the way llama.cpp's
// llama-quantize does: every 2-D weight is converted to the scheme's type
// (Q4_K_M mixes types per tensor), 1-D tensors (norms) are stored F32, and
// all metadata (tokenizer, chat template, hyper-parameters) is copied, with
// general.file_type and general.quantization_version set to match.
// A GGUF source keeps its tensor order and its own keys; a Hugging Face
// source is written as `officina convert` writes it (q/k in the GGUF RoPE
// layout, tokenizer keys rebuilt from tokenizer.json).
// A tensor whose rows do not split into the wanted type's blocks falls back
// to the nearest type that fits (QuantizeReport::fallbacks lists them).
// The quantized tensors are held in memory until the file is written
// (about the size of the output file); the file is written atomically.
// Thread-safety: the functions are pure apart from writing out_path.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "model/model.h"
#include "tensor/dtype.h"

namespace officina {

// What `officina quantize` can produce. Q4_K_M is llama.cpp's mix: Q4_K for
// most matrices, Q6_K for the output head and for about half of the layers'
// attn_v and ffn_down (the first and last eighth and every third between).
enum class QuantScheme { F16, BF16, Q8_0, Q4_0, Q4_K, Q4_K_M };

// Parses "Q4_K_M", "q8_0", ... (case-insensitive); the error lists the choices.
Result<QuantScheme> quant_scheme_from_name(std::string_view name);
std::string_view quant_scheme_name(QuantScheme scheme);
// The general.file_type llama.cpp writes for the scheme (Q4_K: 14, its
// "mostly Q4_K" Q4_K_S id; Q4_K_M: 15).
uint32_t quant_scheme_file_type(QuantScheme scheme);
// llama.cpp's name for a general.file_type value ("Q4_K_M"), "" if unknown.
std::string_view gguf_file_type_name(uint32_t file_type);

// The type the scheme wants for the 2-D weight `name` (a llama.cpp tensor
// name such as "blk.3.ffn_down.weight") of a model with n_layers blocks;
// `tied`: token_embd is also the output head.
DType quant_scheme_type(QuantScheme scheme, std::string_view name, int64_t n_layers, bool tied);
// `wanted` when rows of `cols` values split into its blocks, else the
// nearest type that fits: Q4_K -> Q4_0, Q6_K -> Q8_0, then F16.
DType quant_fallback_type(DType wanted, int64_t cols);

struct QuantizeOptions {
  QuantScheme scheme = QuantScheme::Q8_0;
  int threads = 0;  // 0: all cores
  // Called before each tensor is converted (index from 0); may be empty.
  std::function<void(size_t index, size_t total, const std::string& name)> on_tensor;
};

struct QuantizeFallback {
  std::string tensor;
  int64_t cols = 0;
  DType wanted = DType::F32;
  DType used = DType::F32;
};

struct QuantizeReport {
  std::map<DType, int64_t> tensors;  // tensors written, per type
  uint64_t bytes_before = 0;         // tensor data of the source
  uint64_t bytes_after = 0;          // tensor data written
  uint64_t file_bytes = 0;           // size of the written file
  std::vector<QuantizeFallback> fallbacks;
};

// Writes `model` quantized to `out_path`. Fails with "OUT: ..." on I/O
// errors; nothing is left at out_path then (an earlier file stays as it was).
Result<QuantizeReport> quantize_model(const Model& model, const QuantizeOptions& options, const std::string& out_path);

// A short label of a model's weight types: the type's name when every
// matrix has the same type ("Q8_0"), else the name of general.file_type
// ("Q4_K_M"), else "mixed".
std::string model_type_label(const Model& model);
// Bytes of all weight tensors (the embedding once when tied).
uint64_t model_weight_bytes(const Model& model);

}  // namespace officina
