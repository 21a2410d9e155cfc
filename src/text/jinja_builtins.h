// The Jinja builtins chat templates call: filters (jinja_filters.cc), tests
// (jinja_tests.cc), methods of str/dict/list and the global functions range,
// namespace, dict, raise_exception and strftime_now (jinja_methods.cc).
// Each returns Python's result or an error worded like Python's exception
// ("TypeError: ...").
// Thread-safety: stateless; calls go through the Interpreter they are given.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.h"
#include "text/jinja_value.h"

namespace officina::jinja {

class Interpreter;

// "no filter named 'x'" for unknown names.
Result<Value> call_filter(Interpreter& interp, std::string_view name, const Value& operand, const CallArgs& args);
// "no test named 'x'" for unknown names.
Result<bool> call_test(Interpreter& interp, std::string_view name, const Value& operand, const CallArgs& args);
// `object.name` when it is a method of str, dict or list; nullopt otherwise.
std::optional<Value> bound_method(const Value& object, std::string_view name);
// range, namespace, dict, raise_exception, strftime_now.
void install_globals(std::unordered_map<std::string, Value>& globals);
// Python's `item in container`.
Result<bool> contains(const Value& container, const Value& item);

// Helpers shared by the builtins.
std::string py_strip(std::string_view s, std::string_view chars, bool left, bool right);  // chars "" = whitespace
std::string py_lower(std::string_view s);
std::string py_upper(std::string_view s);
std::string py_title(std::string_view s);
std::string py_capitalize(std::string_view s);
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::string py_replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);
// Elements of an iterable (list, tuple, view, generator, dict keys, string
// characters; Undefined is empty); a TypeError for other values.
Result<std::vector<Value>> iterate(const Value& value);
// Positional argument i or keyword `name`, else nullptr.
const Value* arg(const CallArgs& args, size_t i, std::string_view name);

}  // namespace officina::jinja
