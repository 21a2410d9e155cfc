// Values of the Jinja template language as chat templates see them: the
// Python objects Jinja2 would hold (None, bool, int, float, str, list, tuple,
// dict, namespace, callables, the generators that filters like map() return)
// with Python's semantics for truth, equality, ordering, str() and repr(), and
// json.dumps() the way Hugging Face's `tojson` filter calls it (non-ASCII kept).
// Lists and dicts are immutable once built (chat templates run in an
// immutable sandbox); namespaces are the one mutable object.
// Thread-safety: values share immutable data; a namespace must not be shared
// between renderings.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace officina::jinja {

class Value;
class Interpreter;

// What kind of sequence a list is: a real list, a tuple (from items() or
// `a, b` literals), or a one-shot iterator that Python cannot len() or dump.
// View is dict.items()/keys()/values(): len() works, json.dumps() does not.
enum class SequenceKind : uint8_t { List, Tuple, Generator, View };

struct ListData {
  std::vector<Value> items;
  SequenceKind kind = SequenceKind::List;
  std::string view_name;  // "dict_items", "dict_keys", "dict_values" for View
};

// Insertion-ordered string-keyed mapping (JSON object keys are strings).
struct DictData {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(std::string key, Value value);  // replaces or appends
};

struct NamespaceData {
  DictData attributes;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* keyword_arg(std::string_view name) const;
};

// Builtins, macros and bound methods. `self` is the bound object, if any.
struct CallableData {
  std::string name;
  std::function<Result<Value>(Interpreter&, const CallArgs&)> call;
};

// How json.dumps() lays out text: indent (None = one line), separators
// (defaults ", " / ": ", or "," / ": " with an indent), sort_keys, and
// ensure_ascii (escape non-ASCII as \uXXXX).
struct JsonStyle {
  std::optional<int> indent;
  bool sort_keys = false;
  bool ensure_ascii = false;
  std::optional<std::string> item_separator;
  std::optional<std::string> key_separator;
};

struct UndefinedData {
  std::string hint;  // "'x' is undefined", "'dict object' has no attribute 'y'"
};

class Value {
 public:
  enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

  Value() : data_(UndefinedData{}) {}
  static Value undefined(std::string hint) { return Value(UndefinedData{std::move(hint)}); }
  static Value none() { return Value(nullptr); }
  Value(bool b) : data_(b) {}
  Value(int64_t i) : data_(i) {}
  Value(int i) : data_(static_cast<int64_t>(i)) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  static Value list(std::vector<Value> items, SequenceKind kind = SequenceKind::List);
  static Value view(std::vector<Value> items, std::string view_name);
  static Value dict(DictData data);
  static Value new_namespace(DictData attributes);
  static Value callable(std::string name, std::function<Result<Value>(Interpreter&, const CallArgs&)> fn);
  static Value from_json(const nlohmann::ordered_json& json);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::Undefined; }
  bool is_none() const { return kind() == Kind::None; }
  bool is_string() const { return kind() == Kind::String; }
  bool is_number() const { return kind() == Kind::Int || kind() == Kind::Float || kind() == Kind::Bool; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_dict() const { return kind() == Kind::Dict; }

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  double as_float() const { return std::get<double>(data_); }
  double as_number() const;  // bool, int or float as a double
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const ListData& as_list() const { return *std::get<std::shared_ptr<const ListData>>(data_); }
  const DictData& as_dict() const { return *std::get<std::shared_ptr<const DictData>>(data_); }
  NamespaceData& as_namespace() const { return *std::get<std::shared_ptr<NamespaceData>>(data_); }
  const CallableData& as_callable() const { return *std::get<std::shared_ptr<const CallableData>>(data_); }
  const std::string& undefined_hint() const { return std::get<UndefinedData>(data_).hint; }

  // Python truthiness.
  bool truthy() const;
  // Python type name for error messages: "str", "dict", "NoneType", ...
  std::string type_name() const;
  // str(value); Undefined renders as "".
  std::string str() const;
  // repr(value).
  std::string repr() const;
  // json.dumps(value, ensure_ascii=False, indent=indent, separators=...,
  // sort_keys=...); fails like Python for values JSON cannot hold.
  Result<std::string> to_json(const JsonStyle& style = {}) const;
  // Back to nlohmann JSON (for tool-call arguments, etc.).
  Result<nlohmann::ordered_json> to_nlohmann() const;

  // Python ==.
  friend bool operator==(const Value& a, const Value& b);

 private:
  using Data = std::variant<UndefinedData, std::nullptr_t, bool, int64_t, double, std::string,
                            std::shared_ptr<const ListData>, std::shared_ptr<const DictData>,
                            std::shared_ptr<NamespaceData>, std::shared_ptr<const CallableData>>;
  explicit Value(UndefinedData u) : data_(std::move(u)) {}
  explicit Value(std::nullptr_t) : data_(nullptr) {}
  Data data_;
};

// Python's a < b; an error for types that do not order ("'<' not supported
// between instances of 'str' and 'int'").
Result<bool> less_than(const Value& a, const Value& b);
// repr(float) in Python: shortest round-trip digits, "1e-05", "7.0", "inf".
std::string python_float_repr(double value);
// Number of code points of a UTF-8 string (Python len()).
int64_t utf8_length(std::string_view text);

}  // namespace officina::jinja
