// Metadata values of a GGUF file: the 13 GGUF value types, scalars, strings
// and (nested) arrays. Plain values; thread-safe to read concurrently.
// Integers are held as uint64_t (UINT*) or int64_t (INT*), FLOAT32/FLOAT64 as
// double (a FLOAT32 round-trips exactly), so the written bytes are reproduced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"

namespace officina {

enum class GgufType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

std::string_view gguf_type_name(GgufType type);  // "UINT32", "STRING", ...
bool gguf_type_valid(uint32_t type);              // one of the 13 types
bool gguf_type_is_integer(GgufType type);         // UINT8..INT64 (not BOOL)
bool gguf_type_is_unsigned(GgufType type);
bool gguf_type_is_float(GgufType type);
// Bytes of a fixed-size value; 0 for STRING and ARRAY.
size_t gguf_type_size(GgufType type);

// A key or tensor name read from a file, quoted for an error message:
// "'blk.0.attn_q.weight'"; control and non-ASCII bytes are escaped (\xNN) and
// names longer than 120 bytes are shortened, so an error stays one short line.
std::string quote_name(std::string_view name);

// Arrays may nest (an ARRAY of ARRAYs); deeper nesting than this is refused
// by the reader and the writer so that recursion stays bounded.
inline constexpr int kGgufMaxArrayDepth = 8;

struct GgufValue;
struct GgufArray {
  GgufType element_type = GgufType::UINT8;
  std::vector<GgufValue> items;
};

// One metadata value. Integers keep their GGUF type for round-tripping;
// accessors convert between integer widths when the value fits.
struct GgufValue {
  GgufType type = GgufType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> value;

  static GgufValue u8(uint8_t v) { return {GgufType::UINT8, uint64_t{v}}; }
  static GgufValue i8(int8_t v) { return {GgufType::INT8, int64_t{v}}; }
  static GgufValue u16(uint16_t v) { return {GgufType::UINT16, uint64_t{v}}; }
  static GgufValue i16(int16_t v) { return {GgufType::INT16, int64_t{v}}; }
  static GgufValue u32(uint32_t v) { return {GgufType::UINT32, uint64_t{v}}; }
  static GgufValue i32(int32_t v) { return {GgufType::INT32, int64_t{v}}; }
  static GgufValue u64(uint64_t v) { return {GgufType::UINT64, v}; }
  static GgufValue i64(int64_t v) { return {GgufType::INT64, v}; }
  static GgufValue f32(float v) { return {GgufType::FLOAT32, double{v}}; }
  static GgufValue f64(double v) { return {GgufType::FLOAT64, v}; }
  static GgufValue boolean(bool v) { return {GgufType::BOOL, v}; }
  static GgufValue string(std::string v) { return {GgufType::STRING, std::move(v)}; }
  static GgufValue array(GgufType element_type, std::vector<GgufValue> items) {
    return {GgufType::ARRAY, GgufArray{element_type, std::move(items)}};
  }

  // Each fails with "'KEY' is a TYPE, expected ..." naming key.
  Result<int64_t> as_int(std::string_view key) const;
  Result<double> as_float(std::string_view key) const;
  Result<bool> as_bool(std::string_view key) const;
  Result<std::string> as_string(std::string_view key) const;
  Result<const GgufArray*> as_array(std::string_view key) const;
};

// Checks that the declared type matches the held alternative, that narrow
// integers fit their width, and that array items all have the element type;
// "'KEY' ..." on failure. The writer calls it before writing anything.
Result<void> gguf_value_check(const GgufValue& value, std::string_view key, int depth = 0);

// Same type and same bytes when written (floats compare by bit pattern).
bool operator==(const GgufValue& a, const GgufValue& b);
inline bool operator==(const GgufArray& a, const GgufArray& b) {
  return a.element_type == b.element_type && a.items == b.items;
}

}  // namespace officina
