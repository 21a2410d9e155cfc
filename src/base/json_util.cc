#include "base/json_util.h"

#include "base/mapped_file.h"

namespace officina {

Result<Json> parse_json(std::string_view text, std::string_view where) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return fail("{}: invalid JSON at byte {}: {}", where, e.byte, e.what());
  } catch (const std::exception& e) {
    return fail("{}: invalid JSON: {}", where, e.what());
  }
}

Result<Json> read_json_file(const std::string& path, size_t max_bytes) {
  OFFICINA_TRY(std::string text, read_text_file(path, max_bytes));
  return parse_json(text, path);
}

namespace {
Result<const Json*> field(const Json& object, std::string_view key, std::string_view where) {
  if (!object.is_object()) return fail("{}: expected a JSON object", where);
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fail("{}: field '{}' missing", where, key);
  return &*it;
}
}  // namespace

Result<int64_t> json_int(const Json& object, std::string_view key, std::string_view where) {
  OFFICINA_TRY(const Json* v, field(object, key, where));
  if (!v->is_number_integer()) return fail("{}: field '{}' must be an integer", where, key);
  return v->get<int64_t>();
}

Result<double> json_number(const Json& object, std::string_view key, std::string_view where) {
  OFFICINA_TRY(const Json* v, field(object, key, where));
  if (!v->is_number()) return fail("{}: field '{}' must be a number", where, key);
  return v->get<double>();
}

Result<std::string> json_string(const Json& object, std::string_view key, std::string_view where) {
  OFFICINA_TRY(const Json* v, field(object, key, where));
  if (!v->is_string()) return fail("{}: field '{}' must be a string", where, key);
  return v->get<std::string>();
}

Result<int64_t> json_int_or(const Json& object, std::string_view key, int64_t fallback,
                            std::string_view where) {
  if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) return fallback;
  return json_int(object, key, where);
}

Result<double> json_number_or(const Json& object, std::string_view key, double fallback,
                              std::string_view where) {
  if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) return fallback;
  return json_number(object, key, where);
}

Result<bool> json_bool_or(const Json& object, std::string_view key, bool fallback,
                          std::string_view where) {
  if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) return fallback;
  const Json& v = object.at(key);
  if (!v.is_boolean()) return fail("{}: field '{}' must be true or false", where, key);
  return v.get<bool>();
}

}  // namespace officina
