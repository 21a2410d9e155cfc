// Jinja filters with Jinja2 3.1 semantics (and Hugging Face's tojson).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "text/jinja_builtins.h"
#include "text/jinja_interpreter.h"

namespace officina::jinja {
namespace {

Value generator(std::vector<Value> items) { return Value::list(std::move(items), SequenceKind::Generator); }

Result<int64_t> int_param(const Value* v, int64_t fallback, std::string_view what) {
  if (!v || v->is_none()) return fallback;
  if (v->kind() == Value::Kind::Int) return v->as_int();
  if (v->kind() == Value::Kind::Bool) return int64_t{v->as_bool()};
  return fail("TypeError: {} must be an integer, not {}", what, v->type_name());
}

bool bool_param(const Value* v, bool fallback) { return v ? v->truthy() : fallback; }

// Jinja's attribute getter for map/selectattr/sort/...: "a.b" walks items,
// numeric parts index lists.
Result<Value> get_path(Interpreter& interp, const Value& item, const std::string& path) {
  Value current = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric && current.is_list() && current.as_list().kind != SequenceKind::Generator) {
      size_t i = std::strtoull(part.c_str(), nullptr, 10);
      const auto& items = current.as_list().items;
      current = i < items.size() ? items[i] : Value::undefined(fmt::format("no element {}", part));
    } else if (current.is_dict()) {
      const Value* v = current.as_dict().find(part);
      current = v ? *v : Value::undefined(fmt::format("'dict object' has no attribute '{}'", part));
    } else {
      OFFICINA_TRY(current, interp.get_attribute(current, part));
    }
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

Result<std::vector<Value>> select_items(Interpreter& interp, const Value& seq, const CallArgs& args, bool by_attribute,
                                        bool keep_when) {
  if (!seq.truthy()) return std::vector<Value>{};  // Jinja2 selects nothing from a falsy value (None, [])
  OFFICINA_TRY(std::vector<Value> items, iterate(seq));
  std::string attribute;
  size_t next = 0;
  if (by_attribute) {
    if (args.positional.empty() || !args.positional[0].is_string())
      return fail("TypeError: selectattr/rejectattr need an attribute name");
    attribute = args.positional[0].as_string();
    next = 1;
  }
  std::optional<std::string> test;
  if (next < args.positional.size()) {
    if (!args.positional[next].is_string()) return fail("TypeError: the test name must be a string");
    test = args.positional[next].as_string();
  }
  CallArgs test_args;
  for (size_t i = next + 1; i < args.positional.size(); ++i) test_args.positional.push_back(args.positional[i]);
  std::vector<Value> out;
  for (const Value& item : items) {
    Value probe = item;
    if (by_attribute) {
      OFFICINA_TRY(probe, get_path(interp, item, attribute));
    }
    bool pass;
    if (test) {
      OFFICINA_TRY(pass, interp.apply_test(*test, probe, test_args));
    }
    else pass = probe.truthy();
    if (pass == keep_when) out.push_back(item);
  }
  return out;
}

Result<int64_t> length_of(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return utf8_length(v.as_string());
    case Value::Kind::Dict: return static_cast<int64_t>(v.as_dict().items.size());
    case Value::Kind::Namespace: return static_cast<int64_t>(v.as_namespace().attributes.items.size());
    case Value::Kind::List:
      if (v.as_list().kind == SequenceKind::Generator) return fail("TypeError: object of type 'generator' has no len()");
      return static_cast<int64_t>(v.as_list().items.size());
    default: return fail("TypeError: object of type '{}' has no len()", v.type_name());
  }
}

std::string indent_text(const std::string& text, const std::string& indention, bool first, bool blank) {
  // Jinja2 appends a newline before splitlines(), so a trailing newline survives.
  std::string s = text + "\n";
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      lines.push_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention + lines[i]);
  }
  if (first) rv = indention + rv;
  return rv;
}

Result<Value> sort_values(Interpreter& interp, std::vector<Value> items, bool reverse, bool case_sensitive,
                          const Value* attribute) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : items) {
    Value key = item;
    if (attribute && attribute->is_string()) {
      OFFICINA_TRY(key, get_path(interp, item, attribute->as_string()));
    }
    if (!case_sensitive && key.is_string()) key = Value(py_lower(key.as_string()));
    keyed.emplace_back(std::move(key), std::move(item));
  }
  std::optional<Error> error;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    auto lt = reverse ? less_than(b.first, a.first) : less_than(a.first, b.first);
    if (!lt) {
      error = lt.error();
      return false;
    }
    return *lt;
  });
  if (error) return std::unexpected(*error);
  std::vector<Value> out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return Value::list(std::move(out));
}

}  // namespace

Result<Value> call_filter(Interpreter& interp, std::string_view name, const Value& v, const CallArgs& args) {
  if (name == "safe" || name == "string") return name == "safe" ? v : Value(v.str());
  if (name == "trim") {
    const Value* chars = arg(args, 0, "chars");
    return Value(py_strip(v.str(), chars && chars->is_string() ? chars->as_string() : "", true, true));
  }
  if (name == "upper") return Value(py_upper(v.str()));
  if (name == "lower") return Value(py_lower(v.str()));
  if (name == "title") return Value(py_title(v.str()));
  if (name == "capitalize") return Value(py_capitalize(v.str()));
  if (name == "length" || name == "count") {
    OFFICINA_TRY(int64_t n, length_of(v));
    return Value(n);
  }
  if (name == "tojson") {
    JsonStyle style;
    if (const Value* a = arg(args, 0, "ensure_ascii")) style.ensure_ascii = a->truthy();
    if (const Value* a = arg(args, 1, "indent"); a && !a->is_none()) {
      if (a->kind() != Value::Kind::Int) return fail("TypeError: tojson indent must be an integer");
      if (a->as_int() > 64) return fail("tojson indent larger than 64");
      style.indent = static_cast<int>(a->as_int());
    }
    if (const Value* a = arg(args, 2, "separators"); a && !a->is_none()) {
      if (!a->is_list() || a->as_list().items.size() != 2 || !a->as_list().items[0].is_string() ||
          !a->as_list().items[1].is_string())
        return fail("TypeError: tojson separators must be a pair of strings");
      style.item_separator = a->as_list().items[0].as_string();
      style.key_separator = a->as_list().items[1].as_string();
    }
    if (const Value* a = arg(args, 3, "sort_keys")) style.sort_keys = a->truthy();
    if (v.is_undefined()) return fail("TypeError: Object of type Undefined is not JSON serializable");
    OFFICINA_TRY(std::string text, v.to_json(style));
    return Value(std::move(text));
  }
  if (name == "join") {
    const Value* sep = arg(args, 0, "d");
    const Value* attribute = arg(args, 1, "attribute");
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += sep ? sep->str() : "";
      Value item = items[i];
      if (attribute && attribute->is_string()) {
        OFFICINA_TRY(item, get_path(interp, item, attribute->as_string()));
      }
      out += item.str();
    }
    return Value(std::move(out));
  }
  if (name == "replace") {
    const Value* old = arg(args, 0, "old");
    const Value* with = arg(args, 1, "new");
    if (!old || !with) return fail("TypeError: replace needs the old and the new string");
    OFFICINA_TRY(int64_t count, int_param(arg(args, 2, "count"), -1, "count"));
    return Value(py_replace(v.str(), old->str(), with->str(), count));
  }
  if (name == "default" || name == "d") {
    const Value* fallback = arg(args, 0, "default_value");
    bool boolean = bool_param(arg(args, 1, "boolean"), false);
    if (v.is_undefined() || (boolean && !v.truthy())) return fallback ? *fallback : Value("");
    return v;
  }
  if (name == "first" || name == "last") {
    if (name == "last" && v.is_list() && v.as_list().kind == SequenceKind::Generator)
      return fail("TypeError: 'generator' object is not reversible");
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    if (items.empty()) return Value::undefined(fmt::format("No {} item, sequence was empty.", name));
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    return Value::list(std::move(items));
  }
  if (name == "items") {
    if (v.is_undefined()) return generator({});
    if (!v.is_dict()) return fail("TypeError: Can only get item pairs from a mapping.");
    std::vector<Value> pairs;
    for (const auto& [k, item] : v.as_dict().items) pairs.push_back(Value::list({Value(k), item}, SequenceKind::Tuple));
    return generator(std::move(pairs));
  }
  if (name == "selectattr" || name == "rejectattr") {
    OFFICINA_TRY(std::vector<Value> out, select_items(interp, v, args, true, name == "selectattr"));
    return generator(std::move(out));
  }
  if (name == "select" || name == "reject") {
    OFFICINA_TRY(std::vector<Value> out, select_items(interp, v, args, false, name == "select"));
    return generator(std::move(out));
  }
  if (name == "map") {
    if (!v.truthy()) return generator({});
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    std::vector<Value> out;
    if (const Value* attribute = args.keyword_arg("attribute")) {
      if (!attribute->is_string()) return fail("TypeError: map attribute must be a string");
      const Value* fallback = args.keyword_arg("default");
      for (const Value& item : items) {
        OFFICINA_TRY(Value mapped, get_path(interp, item, attribute->as_string()));
        out.push_back(mapped.is_undefined() && fallback ? *fallback : mapped);
      }
      return generator(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].is_string())
      return fail("TypeError: map needs a filter name or attribute=...");
    CallArgs rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    rest.keyword = args.keyword;
    for (const Value& item : items) {
      OFFICINA_TRY(Value mapped, interp.apply_filter(args.positional[0].as_string(), item, rest));
      out.push_back(std::move(mapped));
    }
    return generator(std::move(out));
  }
  if (name == "unique") {
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    bool case_sensitive = bool_param(arg(args, 0, "case_sensitive"), false);
    const Value* attribute = arg(args, 1, "attribute");
    std::vector<Value> seen, out;
    for (const Value& item : items) {
      Value key = item;
      if (attribute && attribute->is_string()) {
        OFFICINA_TRY(key, get_path(interp, item, attribute->as_string()));
      }
      if (!case_sensitive && key.is_string()) key = Value(py_lower(key.as_string()));
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      out.push_back(item);
    }
    return generator(std::move(out));
  }
  if (name == "indent") {
    const Value* width = arg(args, 0, "width");
    std::string indention = "    ";
    if (width && width->is_string()) indention = width->as_string();
    else if (width) {
      OFFICINA_TRY(int64_t w, int_param(width, 4, "indent width"));
      if (w < 0 || w > 256) return fail("indent width must be between 0 and 256");
      indention.assign(static_cast<size_t>(w), ' ');
    }
    return Value(indent_text(v.str(), indention, bool_param(arg(args, 1, "first"), false),
                             bool_param(arg(args, 2, "blank"), false)));
  }
  if (name == "int") {
    OFFICINA_TRY(int64_t fallback, int_param(arg(args, 0, "default"), 0, "default"));
    if (v.kind() == Value::Kind::Int || v.kind() == Value::Kind::Bool) return Value(v.kind() == Value::Kind::Bool ? int64_t{v.as_bool()} : v.as_int());
    if (v.kind() == Value::Kind::Float) return std::isfinite(v.as_float()) ? Value(static_cast<int64_t>(v.as_float())) : Value(fallback);
    if (v.is_string()) {
      std::string s = py_strip(v.as_string(), "", true, true);
      char* end = nullptr;
      long long parsed = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && end && *end == '\0') return Value(static_cast<int64_t>(parsed));
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0' && std::isfinite(d)) return Value(static_cast<int64_t>(d));
    }
    return Value(fallback);
  }
  if (name == "float") {
    const Value* fallback = arg(args, 0, "default");
    if (v.is_number()) return Value(v.as_number());
    if (v.is_string()) {
      std::string s = py_strip(v.as_string(), "", true, true);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0') return Value(d);
    }
    return fallback ? *fallback : Value(0.0);
  }
  if (name == "abs") {
    if (v.kind() == Value::Kind::Int) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    if (v.is_number()) return Value(std::fabs(v.as_number()));
    return fail("TypeError: bad operand type for abs(): '{}'", v.type_name());
  }
  if (name == "round") {
    if (!v.is_number()) return fail("TypeError: round needs a number, not {}", v.type_name());
    OFFICINA_TRY(int64_t precision, int_param(arg(args, 0, "precision"), 0, "precision"));
    const Value* method = arg(args, 1, "method");
    std::string how = method && method->is_string() ? method->as_string() : "common";
    double scale = std::pow(10.0, static_cast<double>(precision));
    double x = v.as_number() * scale;
    double r = how == "floor" ? std::floor(x) : how == "ceil" ? std::ceil(x) : std::round(x);
    return Value(r / scale);
  }
  if (name == "sum") {
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    const Value* attribute = arg(args, 0, "attribute");
    const Value* start = arg(args, 1, "start");
    bool all_int = !start || start->kind() == Value::Kind::Int;
    int64_t isum = start && start->kind() == Value::Kind::Int ? start->as_int() : 0;
    double fsum = start ? start->as_number() : 0;
    for (const Value& item : items) {
      Value x = item;
      if (attribute && attribute->is_string()) {
        OFFICINA_TRY(x, get_path(interp, item, attribute->as_string()));
      }
      if (!x.is_number()) return fail("TypeError: unsupported operand type(s) for +: 'int' and '{}'", x.type_name());
      all_int = all_int && x.kind() != Value::Kind::Float;
      if (x.kind() != Value::Kind::Float) isum += static_cast<int64_t>(x.as_number());
      fsum += x.as_number();
    }
    return all_int ? Value(isum) : Value(fsum);
  }
  if (name == "sort") {
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    return sort_values(interp, std::move(items), bool_param(arg(args, 0, "reverse"), false),
                       bool_param(arg(args, 1, "case_sensitive"), false), arg(args, 2, "attribute"));
  }
  if (name == "dictsort") {
    if (!v.is_dict()) return fail("TypeError: dictsort needs a mapping, not {}", v.type_name());
    std::vector<Value> pairs;
    for (const auto& [k, item] : v.as_dict().items) pairs.push_back(Value::list({Value(k), item}, SequenceKind::Tuple));
    return sort_values(interp, std::move(pairs), bool_param(arg(args, 2, "reverse"), false),
                       bool_param(arg(args, 0, "case_sensitive"), false), nullptr);
  }
  if (name == "reverse") {
    if (v.is_string()) {
      OFFICINA_TRY(std::vector<Value> chars, iterate(v));
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += it->as_string();
      return Value(std::move(out));
    }
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    std::reverse(items.begin(), items.end());
    return generator(std::move(items));
  }
  if (name == "min" || name == "max") {
    OFFICINA_TRY(std::vector<Value> items, iterate(v));
    if (items.empty()) return Value::undefined(fmt::format("No aggregated item, sequence was empty."));
    OFFICINA_TRY(Value sorted, sort_values(interp, std::move(items), false, bool_param(arg(args, 0, "case_sensitive"), false),
                                           arg(args, 1, "attribute")));
    return name == "min" ? sorted.as_list().items.front() : sorted.as_list().items.back();
  }
  if (name == "attr") {
    const Value* attribute = arg(args, 0, "name");
    if (!attribute || !attribute->is_string()) return fail("TypeError: attr needs an attribute name");
    return interp.get_attribute(v, attribute->as_string());
  }
  if (name == "escape" || name == "e" || name == "forceescape") {
    std::string out;
    for (char c : v.str()) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
      }
    }
    return Value(std::move(out));
  }
  if (name == "wordcount") return Value(static_cast<int64_t>(py_split(v.str(), std::nullopt, -1).size()));
  return fail("TemplateAssertionError: no filter named '{}'", name);
}

}  // namespace officina::jinja
