// A small JSON Schema validator for tests, written independently of the
// grammar converter: it checks a parsed value against the keywords the
// converter supports (type, enum, const, properties, required,
// additionalProperties, items, minItems, maxItems, minLength, maxLength,
// anyOf, oneOf with "exactly one", local $ref).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace officina::test {

class SchemaValidator {
 public:
  explicit SchemaValidator(nlohmann::json root) : root_(std::move(root)) {}

  // Empty when valid, else where and why it is not.
  std::string check(const nlohmann::json& value) const { return check(root_, value, "$", 0); }

 private:
  static size_t code_points(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }

  static bool has_type(const nlohmann::json& v, const std::string& type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "boolean") return v.is_boolean();
    if (type == "null") return v.is_null();
    if (type == "number") return v.is_number();
    if (type == "integer")
      return v.is_number_integer() || (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())));
    return false;
  }

  std::string check(const nlohmann::json& s, const nlohmann::json& v, const std::string& at, int depth) const {
    if (depth > 200) return at + ": schema recursion too deep";
    if (s.is_boolean()) return s.get<bool>() ? "" : at + ": schema false";
    if (s.contains("$ref")) {
      std::string pointer = s["$ref"].get<std::string>().substr(1);
      return check(root_.at(nlohmann::json::json_pointer(pointer)), v, at, depth + 1);
    }
    if (s.contains("anyOf")) {
      for (const auto& sub : s["anyOf"])
        if (check(sub, v, at, depth + 1).empty()) return "";
      return at + ": matches no anyOf branch";
    }
    if (s.contains("oneOf")) {
      int matched = 0;
      for (const auto& sub : s["oneOf"]) matched += check(sub, v, at, depth + 1).empty();
      return matched == 1 ? "" : at + ": matches " + std::to_string(matched) + " oneOf branches";
    }
    if (s.contains("const") && v != s["const"]) return at + ": not the const value";
    if (s.contains("enum")) {
      bool found = false;
      for (const auto& e : s["enum"]) found = found || e == v;
      if (!found) return at + ": not in enum";
    }
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_string()) ok = has_type(v, s["type"]);
      else for (const auto& t : s["type"]) ok = ok || has_type(v, t);
      if (!ok) return at + ": wrong type " + v.type_name();
    }
    if (v.is_string()) {
      size_t n = code_points(v.get<std::string>());
      if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return at + ": string too short";
      if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return at + ": string too long";
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return at + ": too few items";
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return at + ": too many items";
      if (s.contains("items"))
        for (size_t i = 0; i < v.size(); ++i)
          if (auto e = check(s["items"], v[i], at + "[" + std::to_string(i) + "]", depth + 1); !e.empty()) return e;
    }
    if (v.is_object()) {
      if (s.contains("required"))
        for (const auto& r : s["required"])
          if (!v.contains(r.get<std::string>())) return at + ": missing required " + r.get<std::string>();
      for (const auto& [key, value] : v.items()) {
        const std::string here = at + "." + key;
        if (s.contains("properties") && s["properties"].contains(key)) {
          if (auto e = check(s["properties"][key], value, here, depth + 1); !e.empty()) return e;
        } else if (s.contains("additionalProperties")) {
          if (auto e = check(s["additionalProperties"], value, here, depth + 1); !e.empty()) return e;
        }
      }
    }
    return "";
  }

  nlohmann::json root_;
};

}  // namespace officina::test
