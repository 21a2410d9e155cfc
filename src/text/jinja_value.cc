#include "text/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "text/utf8.h"

namespace officina::jinja {

const Value* DictData::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void DictData::set(std::string key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::keyword_arg(std::string_view name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

Value Value::list(std::vector<Value> items, SequenceKind kind) {
  Value v;
  v.data_ = std::make_shared<const ListData>(ListData{std::move(items), kind});
  return v;
}

Value Value::view(std::vector<Value> items, std::string view_name) {
  Value v;
  v.data_ = std::make_shared<const ListData>(ListData{std::move(items), SequenceKind::View, std::move(view_name)});
  return v;
}

Value Value::dict(DictData data) {
  Value v;
  v.data_ = std::make_shared<const DictData>(std::move(data));
  return v;
}

Value Value::new_namespace(DictData attributes) {
  Value v;
  v.data_ = std::make_shared<NamespaceData>(NamespaceData{std::move(attributes)});
  return v;
}

Value Value::callable(std::string name, std::function<Result<Value>(Interpreter&, const CallArgs&)> fn) {
  Value v;
  v.data_ = std::make_shared<const CallableData>(CallableData{std::move(name), std::move(fn)});
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return Value(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = json.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(json.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(from_json(item));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      DictData data;
      data.items.reserve(json.size());
      for (const auto& [key, item] : json.items()) data.items.emplace_back(key, from_json(item));
      return dict(std::move(data));
    }
    default: return none();  // binary and discarded values do not occur in parsed JSON
  }
}

double Value::as_number() const {
  switch (kind()) {
    case Kind::Bool: return as_bool() ? 1.0 : 0.0;
    case Kind::Int: return static_cast<double>(as_int());
    case Kind::Float: return as_float();
    default: return 0.0;
  }
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return as_bool();
    case Kind::Int: return as_int() != 0;
    case Kind::Float: return as_float() != 0.0;
    case Kind::String: return !as_string().empty();
    case Kind::List: return as_list().kind == SequenceKind::Generator || !as_list().items.empty();
    case Kind::Dict: return !as_dict().items.empty();
    case Kind::Namespace:
    case Kind::Callable: return true;
  }
  return false;
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List:
      switch (as_list().kind) {
        case SequenceKind::List: return "list";
        case SequenceKind::Tuple: return "tuple";
        case SequenceKind::Generator: return "generator";
        case SequenceKind::View: return as_list().view_name;
      }
      return "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Callable: return "function";
  }
  return "object";
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string sci(buf, end);  // "-4.7e+00"
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int exponent = std::stoi(sci.substr(e_pos + 1));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = sign;
  if (exponent >= -5 + 1 && exponent < 16) {
    if (exponent >= 0) {
      std::string int_part = digits.substr(0, std::min<size_t>(digits.size(), exponent + 1));
      while (static_cast<int>(int_part.size()) < exponent + 1) int_part += '0';
      std::string frac = digits.size() > static_cast<size_t>(exponent + 1) ? digits.substr(exponent + 1) : "0";
      out += int_part + "." + frac;
    } else {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  }
  return out;
}

int64_t utf8_length(std::string_view text) {
  int64_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

namespace {

std::string repr_string(const std::string& s) {
  char quote = '\'';
  if (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) quote = '"';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(quote)) out += std::string("\\") + quote;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  out += quote;
  return out;
}

void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (ensure_ascii && c >= 0x80) {
      Utf8Char ch = utf8_decode(s, i);
      uint32_t cp = ch.code_point;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
      } else {
        out += fmt::format("\\u{:04x}", cp);
      }
      i += ch.length - 1;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  out += '"';
}

Result<void> json_dump(std::string& out, const Value& v, const JsonStyle& style, int depth) {
  const std::optional<int>& indent = style.indent;
  if (depth > 512) return fail("tojson: nesting deeper than 512 levels");
  auto newline = [&](int level) {
    if (indent) {
      out += '\n';
      out.append(static_cast<size_t>(std::max(0, *indent) * level), ' ');
    }
  };
  const std::string item_sep = style.item_separator.value_or(indent ? "," : ", ");
  const std::string key_sep = style.key_separator.value_or(": ");
  switch (v.kind()) {
    case Value::Kind::None: out += "null"; return {};
    case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return {};
    case Value::Kind::Int: out += std::to_string(v.as_int()); return {};
    case Value::Kind::Float: {
      double d = v.as_float();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
      else out += python_float_repr(d);
      return {};
    }
    case Value::Kind::String: json_string(out, v.as_string(), style.ensure_ascii); return {};
    case Value::Kind::List: {
      const ListData& list = v.as_list();
      if (list.kind == SequenceKind::Generator || list.kind == SequenceKind::View)
        return fail("TypeError: Object of type {} is not JSON serializable", v.type_name());
      if (list.items.empty()) {
        out += "[]";
        return {};
      }
      out += '[';
      for (size_t i = 0; i < list.items.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        OFFICINA_CHECK(json_dump(out, list.items[i], style, depth + 1));
      }
      newline(depth);
      out += ']';
      return {};
    }
    case Value::Kind::Dict: {
      const DictData& dict = v.as_dict();
      if (dict.items.empty()) {
        out += "{}";
        return {};
      }
      std::vector<const std::pair<std::string, Value>*> order;
      for (const auto& item : dict.items) order.push_back(&item);
      if (style.sort_keys) std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < order.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        json_string(out, order[i]->first, style.ensure_ascii);
        out += key_sep;
        OFFICINA_CHECK(json_dump(out, order[i]->second, style, depth + 1));
      }
      newline(depth);
      out += '}';
      return {};
    }
    default: return fail("TypeError: Object of type {} is not JSON serializable", v.type_name());
  }
}

}  // namespace

std::string Value::str() const {
  switch (kind()) {
    case Kind::Undefined: return "";
    case Kind::String: return as_string();
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (kind()) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "None";
    case Kind::Bool: return as_bool() ? "True" : "False";
    case Kind::Int: return std::to_string(as_int());
    case Kind::Float: return python_float_repr(as_float());
    case Kind::String: return repr_string(as_string());
    case Kind::List: {
      const ListData& list = as_list();
      if (list.kind == SequenceKind::Generator) return "<generator object>";
      std::string out = list.kind == SequenceKind::Tuple ? "(" : list.kind == SequenceKind::View ? list.view_name + "([" : "[";
      for (size_t i = 0; i < list.items.size(); ++i) {
        if (i) out += ", ";
        out += list.items[i].repr();
      }
      if (list.kind == SequenceKind::Tuple && list.items.size() == 1) out += ",";
      out += list.kind == SequenceKind::Tuple ? ")" : list.kind == SequenceKind::View ? "])" : "]";
      return out;
    }
    case Kind::Dict:
    case Kind::Namespace: {
      const DictData& dict = kind() == Kind::Dict ? as_dict() : as_namespace().attributes;
      std::string out = kind() == Kind::Dict ? "{" : "<Namespace {";
      for (size_t i = 0; i < dict.items.size(); ++i) {
        if (i) out += ", ";
        out += repr_string(dict.items[i].first) + ": " + dict.items[i].second.repr();
      }
      out += kind() == Kind::Dict ? "}" : "}>";
      return out;
    }
    case Kind::Callable: return "<function " + as_callable().name + ">";
  }
  return "";
}

Result<std::string> Value::to_json(const JsonStyle& style) const {
  std::string out;
  OFFICINA_CHECK(json_dump(out, *this, style, 0));
  return out;
}

Result<nlohmann::ordered_json> Value::to_nlohmann() const {
  OFFICINA_TRY(std::string text, to_json());
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const std::exception& e) {
    return fail("value is not JSON: {}", e.what());
  }
}

bool operator==(const Value& a, const Value& b) {
  using Kind = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.kind() != Kind::Float && b.kind() != Kind::Float) {
      auto as_i = [](const Value& v) { return v.kind() == Kind::Bool ? int64_t{v.as_bool()} : v.as_int(); };
      return as_i(a) == as_i(b);
    }
    return a.as_number() == b.as_number();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.as_string() == b.as_string();
    case Kind::List: {
      const ListData& x = a.as_list();
      const ListData& y = b.as_list();
      if (x.kind != y.kind || x.kind == SequenceKind::Generator) return &x == &y;
      return x.items == y.items;
    }
    case Kind::Dict: {
      const DictData& x = a.as_dict();
      const DictData& y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !(*other == v)) return false;
      }
      return true;
    }
    case Kind::Namespace: return &a.as_namespace() == &b.as_namespace();
    case Kind::Callable: return &a.as_callable() == &b.as_callable();
    default: return false;
  }
}

Result<bool> less_than(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_number() < b.as_number();
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list() && a.as_list().kind == b.as_list().kind &&
      a.as_list().kind != SequenceKind::Generator) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
      if (x[i] == y[i]) continue;
      return less_than(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  return fail("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name());
}

}  // namespace officina::jinja
