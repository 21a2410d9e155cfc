// Methods of str, dict and list, the global functions, and the Python string
// helpers the filters share.
#include <algorithm>
#include <cctype>
#include <ctime>

#include "text/jinja_builtins.h"
#include "text/jinja_interpreter.h"
#include "text/utf8.h"

namespace officina::jinja {
namespace {

bool is_py_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

// Case mapping for ASCII and the Latin-1 letters Italian and other European
// languages use (à è é ì ò ù ...); other characters are left as they are.
char32_t to_lower_cp(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  return c;
}
char32_t to_upper_cp(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  return c;
}
bool is_cased(char32_t c) { return to_lower_cp(c) != c || to_upper_cp(c) != c || c >= 0x100; }

template <class F>
std::string map_code_points(std::string_view s, F&& f) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    Utf8Char ch = utf8_decode(s, i);
    if (!ch.valid) out.append(s.substr(i, ch.length));
    else utf8_append(out, f(ch.code_point));
    i += ch.length;
  }
  return out;
}

std::unexpected<Error> immutable(std::string_view type, std::string_view name) {
  return fail("SecurityError: access to attribute '{}' of '{}' object is unsafe (chat templates are immutable)", name,
              type);
}

Result<int64_t> int_arg(const Value* v, int64_t fallback, std::string_view what) {
  if (!v || v->is_none()) return fallback;
  if (v->kind() == Value::Kind::Int) return v->as_int();
  if (v->kind() == Value::Kind::Bool) return int64_t{v->as_bool()};
  return fail("TypeError: {} must be an integer, not {}", what, v->type_name());
}

Result<std::string> str_arg(const Value* v, std::string_view what) {
  if (!v || !v->is_string()) return fail("TypeError: {} must be str, not {}", what, v ? v->type_name() : "nothing");
  return v->as_string();
}

Result<Value> string_method(const std::string& s, std::string_view name, const CallArgs& args) {
  if (name == "startswith" || name == "endswith") {
    const Value* p = arg(args, 0, "prefix");
    if (!p) return fail("TypeError: {}() takes at least 1 argument (0 given)", name);
    std::vector<std::string> options;
    if (p->is_string()) options.push_back(p->as_string());
    else if (p->is_list() && p->as_list().kind == SequenceKind::Tuple)
      for (const auto& o : p->as_list().items) {
        if (!o.is_string()) return fail("TypeError: tuple for {} must only contain str", name);
        options.push_back(o.as_string());
      }
    else return fail("TypeError: {} first arg must be str or a tuple of str, not {}", name, p->type_name());
    for (const auto& o : options)
      if (name == "startswith" ? s.starts_with(o) : s.ends_with(o)) return Value(true);
    return Value(false);
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const Value* c = arg(args, 0, "chars");
    std::string chars = c && c->is_string() ? c->as_string() : "";
    return Value(py_strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    const Value* sep = arg(args, 0, "sep");
    std::optional<std::string> separator;
    if (sep && !sep->is_none()) {
      OFFICINA_TRY(separator, str_arg(sep, "sep"));
      if (separator->empty()) return fail("ValueError: empty separator");
    }
    OFFICINA_TRY(int64_t maxsplit, int_arg(arg(args, 1, "maxsplit"), -1, "maxsplit"));
    if (name == "rsplit" && maxsplit >= 0) return fail("rsplit with maxsplit is not supported");
    std::vector<Value> parts;
    for (auto& p : py_split(s, separator, maxsplit)) parts.emplace_back(std::move(p));
    return Value::list(std::move(parts));
  }
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower") return Value(py_lower(s));
  if (name == "title") return Value(py_title(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "replace") {
    OFFICINA_TRY(std::string old, str_arg(arg(args, 0, "old"), "replace() argument 1"));
    OFFICINA_TRY(std::string with, str_arg(arg(args, 1, "new"), "replace() argument 2"));
    OFFICINA_TRY(int64_t count, int_arg(arg(args, 2, "count"), -1, "count"));
    return Value(py_replace(s, old, with, count));
  }
  if (name == "find" || name == "index" || name == "count" || name == "rfind") {
    OFFICINA_TRY(std::string sub, str_arg(arg(args, 0, "sub"), fmt::format("{}() argument", name)));
    if (name == "count") {
      if (sub.empty()) return Value(utf8_length(s) + 1);
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    }
    size_t p = name == "rfind" ? s.rfind(sub) : s.find(sub);
    if (p == std::string::npos) {
      if (name == "index") return fail("ValueError: substring not found");
      return Value(int64_t{-1});
    }
    return Value(utf8_length(std::string_view(s).substr(0, p)));
  }
  if (name == "join") {
    const Value* items = arg(args, 0, "iterable");
    if (!items) return fail("TypeError: join() takes exactly one argument (0 given)");
    OFFICINA_TRY(std::vector<Value> parts, iterate(*items));
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].is_string())
        return fail("TypeError: sequence item {}: expected str instance, {} found", i, parts[i].type_name());
      if (i) out += s;
      out += parts[i].as_string();
    }
    return Value(std::move(out));
  }
  if (name == "splitlines") {
    std::vector<Value> lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        lines.emplace_back(s.substr(start, i - start));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
    if (start < s.size()) lines.emplace_back(s.substr(start));
    return Value::list(std::move(lines));
  }
  auto all_of = [&](auto pred) {
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
  };
  if (name == "isdigit") return Value(all_of([](unsigned char c) { return std::isdigit(c) != 0; }));
  if (name == "isalpha") return Value(all_of([](unsigned char c) { return std::isalpha(c) != 0 || c >= 0x80; }));
  if (name == "isalnum") return Value(all_of([](unsigned char c) { return std::isalnum(c) != 0 || c >= 0x80; }));
  if (name == "isspace") return Value(all_of([](unsigned char c) { return is_py_space(c); }));
  if (name == "islower") return Value(py_lower(s) == s && py_upper(s) != s);
  if (name == "isupper") return Value(py_upper(s) == s && py_lower(s) != s);
  return fail("AttributeError: 'str' object has no attribute '{}'", name);
}

constexpr std::string_view kStringMethods[] = {"startswith", "endswith", "strip",   "lstrip",     "rstrip",  "split",
                                               "rsplit",     "upper",    "lower",   "title",      "capitalize",
                                               "replace",    "find",     "rfind",   "index",      "count",   "join",
                                               "splitlines", "isdigit",  "isalpha", "isalnum",    "isspace", "islower",
                                               "isupper"};
constexpr std::string_view kMutators[] = {"append", "extend", "insert", "pop",     "remove", "clear",
                                          "update", "setdefault", "popitem", "sort", "reverse"};

}  // namespace

const Value* arg(const CallArgs& args, size_t i, std::string_view name) {
  if (i < args.positional.size()) return &args.positional[i];
  return args.keyword_arg(name);
}

std::string py_strip(std::string_view s, std::string_view chars, bool left, bool right) {
  auto strip_char = [&](unsigned char c) { return chars.empty() ? is_py_space(c) : chars.find(static_cast<char>(c)) != std::string_view::npos; };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && strip_char(static_cast<unsigned char>(s[b]))) ++b;
  if (right)
    while (e > b && strip_char(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string py_lower(std::string_view s) { return map_code_points(s, to_lower_cp); }
std::string py_upper(std::string_view s) { return map_code_points(s, to_upper_cp); }

std::string py_title(std::string_view s) {
  bool previous_cased = false;
  return map_code_points(s, [&](char32_t c) {
    char32_t r = previous_cased ? to_lower_cp(c) : to_upper_cp(c);
    previous_cased = is_cased(c);
    return r;
  });
}

std::string py_capitalize(std::string_view s) {
  bool first = true;
  return map_code_points(s, [&](char32_t c) {
    char32_t r = first ? to_upper_cp(c) : to_lower_cp(c);
    first = false;
    return r;
  });
}

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (!sep) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_py_space(static_cast<unsigned char>(s[i]))) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
        size_t e = s.size();
        while (e > i && is_py_space(static_cast<unsigned char>(s[e - 1]))) --e;
        out.emplace_back(s.substr(i, e - i));
        break;
      }
      size_t j = i;
      while (j < s.size() && !is_py_space(static_cast<unsigned char>(s[j]))) ++j;
      out.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  size_t start = 0;
  while (true) {
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) break;
    size_t p = s.find(*sep, start);
    if (p == std::string_view::npos) break;
    out.emplace_back(s.substr(start, p - start));
    start = p + sep->size();
  }
  out.emplace_back(s.substr(start));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view with, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` between every character (and at both ends).
    int64_t n = 0;
    for (size_t i = 0; i <= s.size();) {
      if (count < 0 || n < count) {
        out += with;
        ++n;
      }
      if (i == s.size()) break;
      Utf8Char ch = utf8_decode(s, i);
      out.append(s.substr(i, ch.length));
      i += ch.length;
    }
    return out;
  }
  size_t start = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    size_t p = s.find(old, start);
    if (p == std::string_view::npos) break;
    out.append(s.substr(start, p - start));
    out.append(with);
    start = p + old.size();
    ++n;
  }
  out.append(s.substr(start));
  return out;
}

Result<std::vector<Value>> iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::Undefined: return std::vector<Value>{};
    case Value::Kind::List: return value.as_list().items;
    case Value::Kind::Dict: {
      std::vector<Value> keys;
      for (const auto& [k, v] : value.as_dict().items) keys.emplace_back(k);
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> chars;
      const std::string& s = value.as_string();
      for (size_t i = 0; i < s.size();) {
        Utf8Char ch = utf8_decode(s, i);
        chars.emplace_back(s.substr(i, ch.length));
        i += ch.length;
      }
      return chars;
    }
    default: return fail("TypeError: '{}' object is not iterable", value.type_name());
  }
}

Result<bool> contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::String:
      if (!item.is_string())
        return fail("TypeError: 'in <string>' requires string as left operand, not {}", item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::Dict: return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    case Value::Kind::Undefined: return false;
    case Value::Kind::List:
      for (const auto& v : container.as_list().items)
        if (v == item) return true;
      return false;
    default: return fail("TypeError: argument of type '{}' is not iterable", container.type_name());
  }
}

std::optional<Value> bound_method(const Value& object, std::string_view name) {
  for (std::string_view m : kMutators) {
    if (m == name && (object.is_list() || object.is_dict())) {
      std::string type = object.type_name();
      std::string method(name);
      return Value::callable(method, [type, method](Interpreter&, const CallArgs&) -> Result<Value> {
        return immutable(type, method);
      });
    }
  }
  if (object.is_string()) {
    for (std::string_view m : kStringMethods) {
      if (m != name) continue;
      std::string s = object.as_string();
      std::string method(name);
      return Value::callable(method, [s, method](Interpreter&, const CallArgs& args) -> Result<Value> {
        return string_method(s, method, args);
      });
    }
    return std::nullopt;
  }
  if (object.is_dict()) {
    if (name != "get" && name != "items" && name != "keys" && name != "values") return std::nullopt;
    Value self = object;
    std::string method(name);
    return Value::callable(method, [self, method](Interpreter&, const CallArgs& args) -> Result<Value> {
      const DictData& d = self.as_dict();
      if (method == "get") {
        const Value* key = arg(args, 0, "key");
        if (!key) return fail("TypeError: get expected at least 1 argument, got 0");
        const Value* fallback = arg(args, 1, "default");
        const Value* found = key->is_string() ? d.find(key->as_string()) : nullptr;
        if (found) return *found;
        return fallback ? *fallback : Value::none();
      }
      std::vector<Value> items;
      for (const auto& [k, v] : d.items) {
        if (method == "items") items.push_back(Value::list({Value(k), v}, SequenceKind::Tuple));
        else if (method == "keys") items.emplace_back(k);
        else items.push_back(v);
      }
      return Value::view(std::move(items), "dict_" + method);
    });
  }
  if (object.is_list() && (name == "index" || name == "count")) {
    Value self = object;
    std::string method(name);
    return Value::callable(method, [self, method](Interpreter&, const CallArgs& args) -> Result<Value> {
      const Value* x = arg(args, 0, "value");
      if (!x) return fail("TypeError: {}() takes exactly one argument (0 given)", method);
      int64_t count = 0;
      const auto& items = self.as_list().items;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!(items[i] == *x)) continue;
        if (method == "index") return Value(static_cast<int64_t>(i));
        ++count;
      }
      if (method == "index") return fail("ValueError: {} is not in list", x->repr());
      return Value(count);
    });
  }
  return std::nullopt;
}

void install_globals(std::unordered_map<std::string, Value>& globals) {
  globals["range"] = Value::callable("range", [](Interpreter& interp, const CallArgs& args) -> Result<Value> {
    std::vector<int64_t> n;
    for (const auto& a : args.positional) {
      if (a.kind() != Value::Kind::Int && a.kind() != Value::Kind::Bool)
        return fail("TypeError: '{}' object cannot be interpreted as an integer", a.type_name());
      n.push_back(a.kind() == Value::Kind::Bool ? int64_t{a.as_bool()} : a.as_int());
    }
    if (n.empty() || n.size() > 3) return fail("TypeError: range expected 1 to 3 arguments, got {}", n.size());
    int64_t start = n.size() == 1 ? 0 : n[0], stop = n.size() == 1 ? n[0] : n[1], step = n.size() == 3 ? n[2] : 1;
    if (step == 0) return fail("ValueError: range() arg 3 must not be zero");
    std::vector<Value> items;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (static_cast<int64_t>(items.size()) >= interp.limits().max_range)
        return fail("range() longer than {} items", interp.limits().max_range);
      items.emplace_back(i);
    }
    return Value::list(std::move(items));
  });
  auto make_mapping = [](const CallArgs& args, std::string_view what) -> Result<DictData> {
    DictData data;
    for (const auto& a : args.positional) {
      if (!a.is_dict()) return fail("TypeError: {}() takes a mapping or keyword arguments, not {}", what, a.type_name());
      for (const auto& [k, v] : a.as_dict().items) data.set(k, v);
    }
    for (const auto& [k, v] : args.keyword) data.set(k, v);
    return data;
  };
  globals["namespace"] = Value::callable("namespace", [make_mapping](Interpreter&, const CallArgs& args) -> Result<Value> {
    OFFICINA_TRY(DictData data, make_mapping(args, "namespace"));
    return Value::new_namespace(std::move(data));
  });
  globals["dict"] = Value::callable("dict", [make_mapping](Interpreter&, const CallArgs& args) -> Result<Value> {
    OFFICINA_TRY(DictData data, make_mapping(args, "dict"));
    return Value::dict(std::move(data));
  });
  globals["raise_exception"] = Value::callable("raise_exception", [](Interpreter& interp, const CallArgs& args) -> Result<Value> {
    const Value* message = arg(args, 0, "message");
    return interp.raise(message ? message->str() : "the template raised an exception");
  });
  globals["strftime_now"] = Value::callable("strftime_now", [](Interpreter& interp, const CallArgs& args) -> Result<Value> {
    const Value* format = arg(args, 0, "format");
    if (!format || !format->is_string()) return fail("TypeError: strftime_now() needs a format string");
    if (format->as_string().size() > 256) return fail("strftime_now(): format longer than 256 characters");
    char buf[1024];
    size_t n = std::strftime(buf, sizeof buf, format->as_string().c_str(), &interp.now());
    return Value(std::string(buf, n));
  });
}

}  // namespace officina::jinja
