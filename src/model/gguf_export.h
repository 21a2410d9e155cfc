// Writes a Llama-architecture GGUF file that officina and llama.cpp load:
// the `llama.*` hyper-parameters, the tokenizer's `tokenizer.ggml.*` keys and
// the tensors under llama.cpp's names (token_embd, blk.N.attn_q, ...), with
// q/k rows in the interleaved RoPE layout. Used by `officina convert` and
// `officina model init`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "formats/gguf_value.h"
#include "model/model.h"

namespace officina {

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

struct GgufExportOptions {
  std::string name;                     // general.name
  std::optional<DType> matrix_type;     // convert 2-D weights to this type (default: keep)
};

// Writes `weights` (shapes as in ModelWeights) with `config` and the given
// tokenizer metadata. Norms are always F32. Fails with "OUT: ..." on I/O
// errors or when a matrix's columns do not fit the chosen block type.
Result<void> write_llama_gguf(const ModelConfig& config, const ModelWeights& weights,
                              const GgufMetadata& tokenizer_metadata, const GgufExportOptions& options,
                              const std::string& out_path);

// The tokenizer keys of a loaded model: copied as they are from a GGUF
// source, rebuilt from tokenizer.json for a Hugging Face one.
Result<GgufMetadata> tokenizer_gguf_metadata(const Model& model);

// general.file_type value llama.cpp uses for a model mostly in `type`.
uint32_t gguf_file_type(DType type);

// The general.* and llama.* keys of `config` (no tokenizer keys).
GgufMetadata llama_gguf_metadata(const ModelConfig& config, std::string_view name, uint32_t file_type);

// One tensor of a llama GGUF file under its llama.cpp name; `matrix` is false
// for the norm vectors (always written F32).
struct GgufNamedTensor {
  std::string name;
  TensorView view;
  bool matrix = true;
};
// The tensors of `weights` in the order write_llama_gguf writes them
// (output.weight only when the embeddings are not tied).
std::vector<GgufNamedTensor> llama_gguf_tensors(const ModelConfig& config, const ModelWeights& weights);

}  // namespace officina
