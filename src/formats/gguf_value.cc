#include "formats/gguf_value.h"

#include <bit>
#include <cmath>
#include <limits>

namespace officina {

std::string_view gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::UINT8: return "UINT8";
    case GgufType::INT8: return "INT8";
    case GgufType::UINT16: return "UINT16";
    case GgufType::INT16: return "INT16";
    case GgufType::UINT32: return "UINT32";
    case GgufType::INT32: return "INT32";
    case GgufType::FLOAT32: return "FLOAT32";
    case GgufType::BOOL: return "BOOL";
    case GgufType::STRING: return "STRING";
    case GgufType::ARRAY: return "ARRAY";
    case GgufType::UINT64: return "UINT64";
    case GgufType::INT64: return "INT64";
    case GgufType::FLOAT64: return "FLOAT64";
  }
  return "UNKNOWN";
}

bool gguf_type_valid(uint32_t type) { return type <= static_cast<uint32_t>(GgufType::FLOAT64); }

bool gguf_type_is_integer(GgufType type) {
  return gguf_type_is_unsigned(type) || type == GgufType::INT8 || type == GgufType::INT16 ||
         type == GgufType::INT32 || type == GgufType::INT64;
}

bool gguf_type_is_unsigned(GgufType type) {
  return type == GgufType::UINT8 || type == GgufType::UINT16 || type == GgufType::UINT32 ||
         type == GgufType::UINT64;
}

bool gguf_type_is_float(GgufType type) { return type == GgufType::FLOAT32 || type == GgufType::FLOAT64; }

size_t gguf_type_size(GgufType type) {
  switch (type) {
    case GgufType::UINT8:
    case GgufType::INT8:
    case GgufType::BOOL: return 1;
    case GgufType::UINT16:
    case GgufType::INT16: return 2;
    case GgufType::UINT32:
    case GgufType::INT32:
    case GgufType::FLOAT32: return 4;
    case GgufType::UINT64:
    case GgufType::INT64:
    case GgufType::FLOAT64: return 8;
    case GgufType::STRING:
    case GgufType::ARRAY: return 0;
  }
  return 0;
}

std::string quote_name(std::string_view name) {
  constexpr size_t kMax = 120;
  std::string out = "'";
  for (size_t i = 0; i < name.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  if (name.size() > kMax) out += fmt::format(" (shortened, {} bytes)", name.size());
  return out;
}

namespace {

// "a STRING", "an INT32", "an ARRAY of UINT8" for error messages.
std::string described(const GgufValue& v) {
  std::string_view name = gguf_type_name(v.type);
  // "UINT8" reads "you-int", so only INT* and ARRAY take "an".
  bool vowel = name[0] == 'I' || name[0] == 'A';
  std::string out = fmt::format("{} {}", vowel ? "an" : "a", name);
  if (const auto* array = std::get_if<GgufArray>(&v.value))
    out += fmt::format(" of {}", gguf_type_name(array->element_type));
  return out;
}

}  // namespace

Result<int64_t> GgufValue::as_int(std::string_view key) const {
  if (gguf_type_is_unsigned(type)) {
    if (const auto* u = std::get_if<uint64_t>(&value)) {
      if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return fail("{} is {} with value {}, which does not fit in a signed 64-bit integer", quote_name(key),
                    described(*this), *u);
      return static_cast<int64_t>(*u);
    }
  } else if (gguf_type_is_integer(type)) {
    if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  }
  return fail("{} is {}, expected an integer", quote_name(key), described(*this));
}

Result<double> GgufValue::as_float(std::string_view key) const {
  if (gguf_type_is_float(type)) {
    if (const auto* d = std::get_if<double>(&value)) return *d;
  } else if (gguf_type_is_unsigned(type)) {
    if (const auto* u = std::get_if<uint64_t>(&value)) return static_cast<double>(*u);
  } else if (gguf_type_is_integer(type)) {
    if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  }
  return fail("{} is {}, expected a number", quote_name(key), described(*this));
}

Result<bool> GgufValue::as_bool(std::string_view key) const {
  if (type == GgufType::BOOL)
    if (const auto* b = std::get_if<bool>(&value)) return *b;
  return fail("{} is {}, expected a BOOL", quote_name(key), described(*this));
}

Result<std::string> GgufValue::as_string(std::string_view key) const {
  if (type == GgufType::STRING)
    if (const auto* s = std::get_if<std::string>(&value)) return *s;
  return fail("{} is {}, expected a STRING", quote_name(key), described(*this));
}

Result<const GgufArray*> GgufValue::as_array(std::string_view key) const {
  if (type == GgufType::ARRAY)
    if (const auto* a = std::get_if<GgufArray>(&value)) return a;
  return fail("{} is {}, expected an ARRAY", quote_name(key), described(*this));
}

Result<void> gguf_value_check(const GgufValue& v, std::string_view key, int depth) {
  if (!gguf_type_valid(static_cast<uint32_t>(v.type)))
    return fail("{} has unknown value type {}", quote_name(key), static_cast<uint32_t>(v.type));
  bool ok = false;
  switch (v.type) {
    case GgufType::FLOAT32:
    case GgufType::FLOAT64: ok = std::holds_alternative<double>(v.value); break;
    case GgufType::BOOL: ok = std::holds_alternative<bool>(v.value); break;
    case GgufType::STRING: ok = std::holds_alternative<std::string>(v.value); break;
    case GgufType::ARRAY: ok = std::holds_alternative<GgufArray>(v.value); break;
    default:
      ok = gguf_type_is_unsigned(v.type) ? std::holds_alternative<uint64_t>(v.value)
                                         : std::holds_alternative<int64_t>(v.value);
  }
  if (!ok) return fail("{} is declared {} but holds a value of another kind", quote_name(key), gguf_type_name(v.type));
  // Narrow integer types must hold a value that fits their width, or the
  // writer would silently truncate it.
  if (const auto* u = std::get_if<uint64_t>(&v.value)) {
    size_t bits = gguf_type_size(v.type) * 8;
    if (bits < 64 && (*u >> bits) != 0)
      return fail("{} value {} does not fit in {}", quote_name(key), *u, gguf_type_name(v.type));
  } else if (const auto* i = std::get_if<int64_t>(&v.value)) {
    size_t bits = gguf_type_size(v.type) * 8;
    if (bits < 64) {
      int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
      if (*i < lo || *i > hi) return fail("{} value {} does not fit in {}", quote_name(key), *i, gguf_type_name(v.type));
    }
  } else if (const auto* a = std::get_if<GgufArray>(&v.value)) {
    if (depth >= kGgufMaxArrayDepth)
      return fail("{} nests arrays deeper than {} levels", quote_name(key), kGgufMaxArrayDepth);
    for (size_t n = 0; n < a->items.size(); ++n) {
      const GgufValue& item = a->items[n];
      if (item.type != a->element_type)
        return fail("{} is an ARRAY of {} but item {} is {}", quote_name(key), gguf_type_name(a->element_type), n,
                    gguf_type_name(item.type));
      OFFICINA_CHECK(gguf_value_check(item, key, depth + 1));
    }
  }
  return {};
}

bool operator==(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.value.index() != b.value.index()) return false;
  // Floats compare by bits so that NaN round-trips compare equal and -0.0
  // differs from 0.0: equality here means "writes the same bytes".
  if (const auto* da = std::get_if<double>(&a.value)) {
    double db = std::get<double>(b.value);
    if (a.type == GgufType::FLOAT32)
      return std::bit_cast<uint32_t>(static_cast<float>(*da)) == std::bit_cast<uint32_t>(static_cast<float>(db));
    return std::bit_cast<uint64_t>(*da) == std::bit_cast<uint64_t>(db);
  }
  return a.value == b.value;
}

}  // namespace officina
