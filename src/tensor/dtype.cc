#include "tensor/dtype.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace officina {

namespace {
struct DTypeInfo {
  DType type;
  std::string_view name;
  int64_t block_size;
  int64_t block_bytes;
};

// Q4_0: f16 scale + 16 bytes of nibbles; Q8_0: f16 scale + 32 int8;
// Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles;
// Q6_K: 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, f16 d.
constexpr DTypeInfo kTypes[] = {
    {DType::F32, "F32", 1, 4},       {DType::F16, "F16", 1, 2},
    {DType::BF16, "BF16", 1, 2},     {DType::Q8_0, "Q8_0", 32, 34},
    {DType::Q4_0, "Q4_0", 32, 18},   {DType::Q4_K, "Q4_K", 256, 144},
    {DType::Q6_K, "Q6_K", 256, 210},
};

const DTypeInfo& info(DType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t;
  return kTypes[0];  // unreachable for valid enum values
}

// GGML type ids officina knows by name but does not support.
std::string_view ggml_unsupported_name(uint32_t id) {
  switch (id) {
    case 3: return "Q4_1";
    case 6: return "Q5_0";
    case 7: return "Q5_1";
    case 9: return "Q8_1";
    case 10: return "Q2_K";
    case 11: return "Q3_K";
    case 13: return "Q5_K";
    case 15: return "Q8_K";
    case 16: return "IQ2_XXS";
    case 17: return "IQ2_XS";
    case 18: return "IQ3_XXS";
    case 19: return "IQ1_S";
    case 20: return "IQ4_NL";
    case 21: return "IQ3_S";
    case 22: return "IQ2_S";
    case 23: return "IQ4_XS";
    case 24: return "I8";
    case 25: return "I16";
    case 26: return "I32";
    case 27: return "I64";
    case 28: return "F64";
    case 29: return "IQ1_M";
    case 34: return "TQ1_0";
    case 35: return "TQ2_0";
    default: return {};
  }
}
}  // namespace

Result<DType> dtype_from_ggml(uint32_t ggml_type) {
  for (const auto& t : kTypes)
    if (static_cast<uint32_t>(t.type) == ggml_type) return t.type;
  if (auto name = ggml_unsupported_name(ggml_type); !name.empty())
    return fail("tensor type {} (ggml type {}) is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)",
                name, ggml_type);
  return fail("unknown tensor type {}", ggml_type);
}

Result<DType> dtype_from_name(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  for (const auto& t : kTypes)
    if (t.name == upper) return t.type;
  return fail("unknown tensor type '{}' (expected one of F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)", name);
}

std::string_view dtype_name(DType type) { return info(type).name; }
int64_t dtype_block_size(DType type) { return info(type).block_size; }
int64_t dtype_block_bytes(DType type) { return info(type).block_bytes; }
bool dtype_is_quantized(DType type) { return info(type).block_size > 1; }

}  // namespace officina
