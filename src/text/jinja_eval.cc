// Expression evaluation of the Interpreter: names, literals, attribute and
// item access, slices, calls, filters, tests and Python's operators.
#include <cmath>
#include <limits>

#include "text/jinja_builtins.h"
#include "text/jinja_interpreter.h"

namespace officina::jinja {
namespace {

std::unexpected<Error> undefined_error(const Value& v) {
  return fail("UndefinedError: {}", v.undefined_hint().empty() ? "value is undefined" : v.undefined_hint());
}

bool is_int_like(const Value& v) { return v.kind() == Value::Kind::Int || v.kind() == Value::Kind::Bool; }
int64_t int_of(const Value& v) { return v.kind() == Value::Kind::Bool ? int64_t{v.as_bool()} : v.as_int(); }

std::string short_type(const Value& v) { return v.type_name(); }

// Python's index normalisation for a[i]; nullopt when out of range.
std::optional<size_t> normalize_index(int64_t index, size_t size) {
  if (index < 0) index += static_cast<int64_t>(size);
  if (index < 0 || index >= static_cast<int64_t>(size)) return std::nullopt;
  return static_cast<size_t>(index);
}

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    while (i + len < s.size() && (static_cast<unsigned char>(s[i + len]) & 0xC0) == 0x80) ++len;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

Result<Value> Interpreter::eval(const Expr& expr) {
  auto v = eval_inner(expr);
  if (!v) return locate(v.error(), expr.line, expr.column);
  return v;
}

Result<CallArgs> Interpreter::eval_args(const Expr& expr, size_t first_arg) {
  CallArgs args;
  for (size_t i = first_arg; i < expr.args.size(); ++i) {
    OFFICINA_TRY(Value v, eval(*expr.args[i]));
    args.positional.push_back(std::move(v));
  }
  for (const auto& [name, e] : expr.keywords) {
    OFFICINA_TRY(Value v, eval(*e));
    args.keyword.emplace_back(name, std::move(v));
  }
  return args;
}

Result<Value> Interpreter::call_value(const Value& callee, const CallArgs& args) {
  if (callee.is_undefined()) return undefined_error(callee);
  if (callee.kind() != Value::Kind::Callable) return fail("TypeError: '{}' object is not callable", callee.type_name());
  OFFICINA_CHECK(count_step());
  return callee.as_callable().call(*this, args);
}

Result<Value> Interpreter::get_attribute(const Value& object, std::string_view name) {
  switch (object.kind()) {
    case Value::Kind::Undefined: return undefined_error(object);
    case Value::Kind::Dict: {
      if (auto method = bound_method(object, name)) return *method;
      if (const Value* v = object.as_dict().find(name)) return *v;
      return Value::undefined(fmt::format("'dict object' has no attribute '{}'", name));
    }
    case Value::Kind::Namespace: {
      if (const Value* v = object.as_namespace().attributes.find(name)) return *v;
      return Value::undefined(fmt::format("'Namespace object' has no attribute '{}'", name));
    }
    default:
      if (auto method = bound_method(object, name)) return *method;
      return Value::undefined(fmt::format("'{}' object has no attribute '{}'", object.type_name(), name));
  }
}

Result<Value> Interpreter::eval_slice(const Expr& expr) {
  OFFICINA_TRY(Value object, eval(*expr.args[0]));
  std::optional<int64_t> parts[3];
  for (int i = 0; i < 3; ++i) {
    if (!expr.args[i + 1]) continue;
    OFFICINA_TRY(Value p, eval(*expr.args[i + 1]));
    if (p.is_none()) continue;
    if (!is_int_like(p)) return fail("TypeError: slice indices must be integers or None");
    parts[i] = int_of(p);
  }
  int64_t step = parts[2].value_or(1);
  if (step == 0) return fail("ValueError: slice step cannot be zero");
  std::vector<Value> items;
  std::vector<std::string> chars;
  bool is_string = object.is_string();
  if (is_string) chars = utf8_chars(object.as_string());
  else if (object.is_list() && object.as_list().kind != SequenceKind::Generator) items = object.as_list().items;
  else if (object.is_undefined()) return undefined_error(object);
  else return fail("TypeError: '{}' object is not subscriptable", object.type_name());
  const int64_t n = static_cast<int64_t>(is_string ? chars.size() : items.size());
  auto clamp = [&](std::optional<int64_t> v, int64_t fallback, bool is_stop) -> int64_t {
    if (!v) return fallback;
    int64_t x = *v;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1 + (is_stop ? 0 : 0));
  };
  int64_t start = clamp(parts[0], step > 0 ? 0 : n - 1, false);
  int64_t stop = clamp(parts[1], step > 0 ? n : -1, true);
  std::string out_string;
  std::vector<Value> out_items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (is_string) out_string += chars[static_cast<size_t>(i)];
    else out_items.push_back(items[static_cast<size_t>(i)]);
  }
  if (is_string) return Value(std::move(out_string));
  return Value::list(std::move(out_items), object.as_list().kind == SequenceKind::Tuple ? SequenceKind::Tuple
                                                                                          : SequenceKind::List);
}

Result<Value> Interpreter::eval_filter(const Expr& expr, const Value* injected) {
  Value operand;
  if (expr.args[0]) {
    OFFICINA_TRY(operand, eval(*expr.args[0]));
  } else if (injected) {
    operand = *injected;
  }
  OFFICINA_TRY(CallArgs args, eval_args(expr, 1));
  auto result = apply_filter(expr.name, operand, args);
  if (!result) return locate(result.error(), expr.line, expr.column);
  return result;
}

Result<Value> Interpreter::apply_filter(std::string_view name, const Value& operand, const CallArgs& args) {
  OFFICINA_CHECK(count_step());
  return call_filter(*this, name, operand, args);
}

Result<bool> Interpreter::apply_test(std::string_view name, const Value& operand, const CallArgs& args) {
  return call_test(*this, name, operand, args);
}

Result<bool> Interpreter::eval_compare(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return a == b;
  if (op == "!=") return !(a == b);
  if (op == "in" || op == "not in") {
    OFFICINA_TRY(bool found, contains(b, a));
    return op == "in" ? found : !found;
  }
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  if (op == "<") return less_than(a, b);
  if (op == ">") return less_than(b, a);
  if (op == "<=") {
    OFFICINA_TRY(bool gt, less_than(b, a));
    return !gt;
  }
  if (op == ">=") {
    OFFICINA_TRY(bool lt, less_than(a, b));
    return !lt;
  }
  return fail("unknown comparison '{}'", op);
}

Result<Value> Interpreter::eval_binary(const Expr& expr, const Value& a, const Value& b) {
  const std::string& op = expr.name;
  if (op == "~") return Value(a.str() + b.str());
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  auto unsupported = [&]() -> std::unexpected<Error> {
    return fail("TypeError: unsupported operand type(s) for {}: '{}' and '{}'", op, short_type(a), short_type(b));
  };
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.as_string().size() + b.as_string().size() > limits_.max_output_bytes)
        return fail("string longer than {} bytes", limits_.max_output_bytes);
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_string()) return fail("TypeError: can only concatenate str (not \"{}\") to str", b.type_name());
    if (a.is_list() && b.is_list() && a.as_list().kind == b.as_list().kind &&
        (a.as_list().kind == SequenceKind::List || a.as_list().kind == SequenceKind::Tuple)) {
      std::vector<Value> items = a.as_list().items;
      items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
      OFFICINA_CHECK(count_step(static_cast<int64_t>(items.size())));
      return Value::list(std::move(items), a.as_list().kind);
    }
    if (a.is_list() && a.as_list().kind == SequenceKind::List)
      return fail("TypeError: can only concatenate list (not \"{}\") to list", b.type_name());
  }
  if (a.is_number() && b.is_number()) {
    const bool ints = is_int_like(a) && is_int_like(b);
    const int64_t x = ints ? int_of(a) : 0, y = ints ? int_of(b) : 0;
    const double fx = a.as_number(), fy = b.as_number();
    if (op == "+" || op == "-" || op == "*") {
      if (ints) {
        int64_t r;
        bool overflow = op == "+" ? __builtin_add_overflow(x, y, &r)
                        : op == "-" ? __builtin_sub_overflow(x, y, &r)
                                    : __builtin_mul_overflow(x, y, &r);
        if (overflow) return fail("OverflowError: integer result out of range");
        return Value(r);
      }
      return Value(op == "+" ? fx + fy : op == "-" ? fx - fy : fx * fy);
    }
    if (op == "/") {
      if (fy == 0) return fail("ZeroDivisionError: division by zero");
      return Value(fx / fy);
    }
    if (op == "//" || op == "%") {
      if (fy == 0) return fail("ZeroDivisionError: integer division or modulo by zero");
      if (ints) {
        if (x == std::numeric_limits<int64_t>::min() && y == -1) return fail("OverflowError: integer result out of range");
        int64_t q = x / y, r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) {
          --q;
          r += y;
        }
        return Value(op == "//" ? q : r);
      }
      double q = std::floor(fx / fy);
      return Value(op == "//" ? q : fx - q * fy);
    }
    if (op == "**") {
      if (ints && y >= 0) {
        int64_t r = 1;
        for (int64_t i = 0; i < y; ++i)
          if (__builtin_mul_overflow(r, x, &r)) return fail("OverflowError: integer result out of range");
        return Value(r);
      }
      return Value(std::pow(fx, fy));
    }
  }
  if (op == "*") {
    const Value* seq = a.is_number() ? &b : &a;
    const Value* count = a.is_number() ? &a : &b;
    if (is_int_like(*count) && (seq->is_string() || (seq->is_list() && seq->as_list().kind == SequenceKind::List))) {
      int64_t n = std::max<int64_t>(0, int_of(*count));
      size_t unit = seq->is_string() ? seq->as_string().size() : seq->as_list().items.size();
      if (static_cast<double>(n) * static_cast<double>(unit) > static_cast<double>(limits_.max_output_bytes))
        return fail("repetition longer than {} items", limits_.max_output_bytes);
      if (seq->is_string()) {
        std::string out;
        for (int64_t i = 0; i < n; ++i) out += seq->as_string();
        return Value(std::move(out));
      }
      std::vector<Value> items;
      for (int64_t i = 0; i < n; ++i)
        items.insert(items.end(), seq->as_list().items.begin(), seq->as_list().items.end());
      return Value::list(std::move(items));
    }
  }
  if (op == "%" && a.is_string()) return fail("printf-style string formatting ('%') is not supported; use ~ or format filters");
  return unsupported();
}

Result<Value> Interpreter::eval_inner(const Expr& expr) {
  switch (expr.kind) {
    case ExprKind::Literal: return expr.value;
    case ExprKind::Name: {
      if (const Value* v = lookup(expr.name)) return *v;
      return Value::undefined(fmt::format("'{}' is undefined", expr.name));
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
      std::vector<Value> items;
      for (const auto& e : expr.args) {
        OFFICINA_TRY(Value v, eval(*e));
        items.push_back(std::move(v));
      }
      return Value::list(std::move(items), expr.kind == ExprKind::Tuple ? SequenceKind::Tuple : SequenceKind::List);
    }
    case ExprKind::Dict: {
      DictData dict;
      for (size_t i = 0; i + 1 < expr.args.size(); i += 2) {
        OFFICINA_TRY(Value key, eval(*expr.args[i]));
        OFFICINA_TRY(Value value, eval(*expr.args[i + 1]));
        if (!key.is_string()) return fail("dict keys must be strings in chat templates, not {}", key.type_name());
        dict.set(key.as_string(), std::move(value));
      }
      return Value::dict(std::move(dict));
    }
    case ExprKind::Attribute: {
      OFFICINA_TRY(Value object, eval(*expr.args[0]));
      return get_attribute(object, expr.name);
    }
    case ExprKind::Item: {
      OFFICINA_TRY(Value object, eval(*expr.args[0]));
      OFFICINA_TRY(Value key, eval(*expr.args[1]));
      if (object.is_undefined()) return undefined_error(object);
      if (object.is_dict() && key.is_string()) {
        if (const Value* v = object.as_dict().find(key.as_string())) return *v;
        return Value::undefined(fmt::format("'dict object' has no attribute '{}'", key.as_string()));
      }
      if (object.kind() == Value::Kind::Namespace && key.is_string()) return get_attribute(object, key.as_string());
      if (is_int_like(key)) {
        if (object.is_list() && object.as_list().kind != SequenceKind::Generator &&
            object.as_list().kind != SequenceKind::View) {
          const auto& items = object.as_list().items;
          if (auto i = normalize_index(int_of(key), items.size())) return items[*i];
          return Value::undefined(fmt::format("{} object has no element {}", object.type_name(), int_of(key)));
        }
        if (object.is_string()) {
          auto chars = utf8_chars(object.as_string());
          if (auto i = normalize_index(int_of(key), chars.size())) return Value(chars[*i]);
          return Value::undefined(fmt::format("str object has no element {}", int_of(key)));
        }
      }
      if (key.is_string()) return get_attribute(object, key.as_string());
      return Value::undefined(fmt::format("'{}' object has no element {}", object.type_name(), key.repr()));
    }
    case ExprKind::Slice: return eval_slice(expr);
    case ExprKind::Call: {
      OFFICINA_TRY(Value callee, eval(*expr.args[0]));
      OFFICINA_TRY(CallArgs args, eval_args(expr, 1));
      return call_value(callee, args);
    }
    case ExprKind::Filter: return eval_filter(expr, nullptr);
    case ExprKind::Test: {
      OFFICINA_TRY(Value operand, eval(*expr.args[0]));
      OFFICINA_TRY(CallArgs args, eval_args(expr, 1));
      OFFICINA_TRY(bool result, apply_test(expr.name, operand, args));
      return Value(expr.negated ? !result : result);
    }
    case ExprKind::Not: {
      OFFICINA_TRY(Value v, eval(*expr.args[0]));
      return Value(!v.truthy());
    }
    case ExprKind::Negate:
    case ExprKind::Plus: {
      OFFICINA_TRY(Value v, eval(*expr.args[0]));
      if (v.is_undefined()) return undefined_error(v);
      if (!v.is_number()) return fail("TypeError: bad operand type for unary {}: '{}'", expr.kind == ExprKind::Negate ? '-' : '+', v.type_name());
      if (expr.kind == ExprKind::Plus) return is_int_like(v) ? Value(int_of(v)) : v;
      if (is_int_like(v)) {
        if (int_of(v) == std::numeric_limits<int64_t>::min()) return fail("OverflowError: integer result out of range");
        return Value(-int_of(v));
      }
      return Value(-v.as_float());
    }
    case ExprKind::Binary: {
      OFFICINA_TRY(Value a, eval(*expr.args[0]));
      OFFICINA_TRY(Value b, eval(*expr.args[1]));
      return eval_binary(expr, a, b);
    }
    case ExprKind::And: {
      OFFICINA_TRY(Value a, eval(*expr.args[0]));
      if (!a.truthy()) return a;
      return eval(*expr.args[1]);
    }
    case ExprKind::Or: {
      OFFICINA_TRY(Value a, eval(*expr.args[0]));
      if (a.truthy()) return a;
      return eval(*expr.args[1]);
    }
    case ExprKind::Compare: {
      OFFICINA_TRY(Value left, eval(*expr.args[0]));
      for (size_t i = 0; i < expr.ops.size(); ++i) {
        OFFICINA_TRY(Value right, eval(*expr.args[i + 1]));
        OFFICINA_TRY(bool ok, eval_compare(expr.ops[i], left, right));
        if (!ok) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case ExprKind::Conditional: {
      OFFICINA_TRY(Value cond, eval(*expr.args[1]));
      if (cond.truthy()) return eval(*expr.args[0]);
      if (expr.args[2]) return eval(*expr.args[2]);
      return Value::undefined("the conditional expression has no else branch");
    }
  }
  return fail("unknown expression");
}

}  // namespace officina::jinja
