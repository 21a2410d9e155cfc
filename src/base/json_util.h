// JSON helpers over nlohmann::json that turn its exceptions into Errors
// naming the source and the key path.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace officina {

using Json = nlohmann::json;

// Parses text; "WHERE: invalid JSON at byte N: ..." on failure.
Result<Json> parse_json(std::string_view text, std::string_view where);
// Reads and parses a file (at most max_bytes).
Result<Json> read_json_file(const std::string& path, size_t max_bytes = 256u << 20);

// Typed field access: "WHERE: field 'key' missing" / "... must be an integer".
Result<int64_t> json_int(const Json& object, std::string_view key, std::string_view where);
Result<double> json_number(const Json& object, std::string_view key, std::string_view where);
Result<std::string> json_string(const Json& object, std::string_view key, std::string_view where);
// Optional fields: the fallback when absent or null, an error when of the wrong type.
Result<int64_t> json_int_or(const Json& object, std::string_view key, int64_t fallback, std::string_view where);
Result<double> json_number_or(const Json& object, std::string_view key, double fallback, std::string_view where);
Result<bool> json_bool_or(const Json& object, std::string_view key, bool fallback, std::string_view where);

}  // namespace officina
