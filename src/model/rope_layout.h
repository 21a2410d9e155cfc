// The one place where the two RoPE layouts meet. GGUF (and officina's
// engine) rotate interleaved pairs (x0,x1),(x2,x3),...; Hugging Face Llama
// rotates halves (x_i, x_{i+d/2}). Both give the same model when the rows of
// the q and k projections (and of LoRA B matrices on q and k) are permuted
// within each head: GGUF row h*d + 2i + j  <-  HF row h*d + j*(d/2) + i.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace officina {

// The HF row that lands at each GGUF row, for n_heads heads of head_dim rows.
std::vector<int64_t> rope_rows_hf_to_gguf(int64_t n_heads, int64_t head_dim);

// Permutes whole rows (row_bytes each) from HF order to GGUF order.
std::vector<std::byte> permute_rows_hf_to_gguf(std::span<const std::byte> rows, size_t row_bytes,
                                               int64_t n_heads, int64_t head_dim);
// The inverse (GGUF order to HF order), for exporting to Hugging Face files.
std::vector<std::byte> permute_rows_gguf_to_hf(std::span<const std::byte> rows, size_t row_bytes,
                                               int64_t n_heads, int64_t head_dim);

}  // namespace officina
