#include "tensor/tensor_view.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <span>

namespace officina {

std::string shape_string(const TensorView& t) {
  return fmt::format("[{}]", fmt::join(std::span(t.shape.data(), static_cast<size_t>(t.ndim)), ", "));
}

}  // namespace officina
