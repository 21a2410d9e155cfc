// A non-owning view of a tensor's bytes: type, shape and data pointer.
// Shapes are row-major, outermost first: a weight matrix W with `rows` output
// features and `cols` input features is shape {rows, cols}, each row
// contiguous (GGUF lists the same dims innermost first: ne = {cols, rows}).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/dtype.h"

namespace officina {

struct TensorView {
  DType dtype = DType::F32;
  int ndim = 0;
  std::array<int64_t, 4> shape{1, 1, 1, 1};  // shape[0] outermost
  const std::byte* data = nullptr;

  int64_t cols() const { return ndim == 0 ? 1 : shape[ndim - 1]; }
  // Product of all dims but the innermost.
  int64_t rows() const {
    int64_t r = 1;
    for (int i = 0; i + 1 < ndim; ++i) r *= shape[i];
    return r;
  }
  int64_t elements() const { return rows() * cols(); }
  size_t row_bytes() const { return dtype_row_bytes(dtype, cols()); }
  size_t bytes() const { return row_bytes() * static_cast<size_t>(rows()); }
  const std::byte* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes(); }
  bool valid() const { return data != nullptr; }
};

// "[768, 32000]" style text for error messages.
std::string shape_string(const TensorView& t);

}  // namespace officina
