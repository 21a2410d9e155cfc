// Element and block types of tensors. Quantized types store blocks of
// block_size() values in block_bytes() bytes; the byte layouts are those of
// GGML/GGUF (documented next to each dequantizer in dequantize.cc).
// The enum values are the GGML type ids used in GGUF files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace officina {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
  Q4_K = 12,
  Q6_K = 14,
  BF16 = 30,
};

// Maps a GGML type id from a file; names the type in the error when it is a
// known GGML type officina does not support ("Q5_K (ggml type 13) is not
// supported") or unknown ("unknown tensor type 99").
Result<DType> dtype_from_ggml(uint32_t ggml_type);
// Parses "F32", "f16", "Q4_K", ... (case-insensitive).
Result<DType> dtype_from_name(std::string_view name);

std::string_view dtype_name(DType type);      // "F32", "Q4_K", ...
int64_t dtype_block_size(DType type);         // values per block (1 for F32/F16/BF16)
int64_t dtype_block_bytes(DType type);        // bytes per block
bool dtype_is_quantized(DType type);

// Bytes of a row of `cols` values; cols must be a multiple of the block size
// (check with dtype_row_ok first).
inline size_t dtype_row_bytes(DType type, int64_t cols) {
  return static_cast<size_t>(cols / dtype_block_size(type) * dtype_block_bytes(type));
}
inline bool dtype_row_ok(DType type, int64_t cols) { return cols % dtype_block_size(type) == 0; }

}  // namespace officina
