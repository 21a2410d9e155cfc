#include "model/rope_layout.h"

#include <cassert>
#include <cstring>

namespace officina {

std::vector<int64_t> rope_rows_hf_to_gguf(int64_t n_heads, int64_t head_dim) {
  std::vector<int64_t> source(static_cast<size_t>(n_heads * head_dim));
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) source[h * head_dim + 2 * i + j] = h * head_dim + j * half + i;
  return source;
}

namespace {
std::vector<std::byte> permute(std::span<const std::byte> rows, size_t row_bytes, int64_t n_heads,
                               int64_t head_dim, bool to_gguf) {
  assert(rows.size() == row_bytes * static_cast<size_t>(n_heads * head_dim));
  std::vector<int64_t> source = rope_rows_hf_to_gguf(n_heads, head_dim);
  std::vector<std::byte> out(rows.size());
  for (size_t r = 0; r < source.size(); ++r) {
    size_t dst = to_gguf ? r : static_cast<size_t>(source[r]);
    size_t src = to_gguf ? static_cast<size_t>(source[r]) : r;
    std::memcpy(out.data() + dst * row_bytes, rows.data() + src * row_bytes, row_bytes);
  }
  return out;
}
}  // namespace

std::vector<std::byte> permute_rows_hf_to_gguf(std::span<const std::byte> rows, size_t row_bytes,
                                               int64_t n_heads, int64_t head_dim) {
  return permute(rows, row_bytes, n_heads, head_dim, true);
}

std::vector<std::byte> permute_rows_gguf_to_hf(std::span<const std::byte> rows, size_t row_bytes,
                                               int64_t n_heads, int64_t head_dim) {
  return permute(rows, row_bytes, n_heads, head_dim, false);
}

}  // namespace officina
