// Jinja tests (`x is defined`, `x is equalto y`, ...) with Jinja2 3.1 semantics.
#include "text/jinja_builtins.h"
#include "text/jinja_interpreter.h"

namespace officina::jinja {
namespace {

Result<const Value*> other(const CallArgs& args, std::string_view test) {
  if (args.positional.empty()) return fail("TypeError: test '{}' needs an argument", test);
  return &args.positional[0];
}

bool is_integer(const Value& v) { return v.kind() == Value::Kind::Int; }

}  // namespace

Result<bool> call_test(Interpreter& interp, std::string_view name, const Value& v, const CallArgs& args) {
  (void)interp;
  using Kind = Value::Kind;
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind() == Kind::Bool;
  if (name == "true") return v.kind() == Kind::Bool && v.as_bool();
  if (name == "false") return v.kind() == Kind::Bool && !v.as_bool();
  if (name == "integer") return is_integer(v);
  if (name == "float") return v.kind() == Kind::Float;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable")
    return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "sequence")
    return v.is_string() || v.is_dict() || v.is_undefined() ||
           (v.is_list() && (v.as_list().kind == SequenceKind::List || v.as_list().kind == SequenceKind::Tuple));
  if (name == "callable") return v.kind() == Kind::Callable;
  if (name == "sameas") {
    OFFICINA_TRY(const Value* o, other(args, name));
    if (v.kind() != o->kind()) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.kind() == Kind::Bool) return v.as_bool() == o->as_bool();
    if (v.is_dict() || v.is_list() || v.kind() == Kind::Namespace || v.kind() == Kind::Callable) return v == *o;
    return false;
  }
  if (name == "equalto" || name == "eq" || name == "==") {
    OFFICINA_TRY(const Value* o, other(args, name));
    return v == *o;
  }
  if (name == "ne" || name == "!=") {
    OFFICINA_TRY(const Value* o, other(args, name));
    return !(v == *o);
  }
  if (name == "lt" || name == "<" || name == "lessthan") {
    OFFICINA_TRY(const Value* o, other(args, name));
    return less_than(v, *o);
  }
  if (name == "gt" || name == ">" || name == "greaterthan") {
    OFFICINA_TRY(const Value* o, other(args, name));
    return less_than(*o, v);
  }
  if (name == "le" || name == "<=") {
    OFFICINA_TRY(const Value* o, other(args, name));
    OFFICINA_TRY(bool gt, less_than(*o, v));
    return !gt;
  }
  if (name == "ge" || name == ">=") {
    OFFICINA_TRY(const Value* o, other(args, name));
    OFFICINA_TRY(bool lt, less_than(v, *o));
    return !lt;
  }
  if (name == "in") {
    OFFICINA_TRY(const Value* o, other(args, name));
    return contains(*o, v);
  }
  if (name == "odd" || name == "even") {
    if (!is_integer(v)) return fail("TypeError: test '{}' needs an integer, not {}", name, v.type_name());
    bool odd = (v.as_int() % 2) != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "divisibleby") {
    OFFICINA_TRY(const Value* o, other(args, name));
    if (!is_integer(v) || !is_integer(*o)) return fail("TypeError: divisibleby needs integers");
    if (o->as_int() == 0) return fail("ZeroDivisionError: integer division or modulo by zero");
    return v.as_int() % o->as_int() == 0;
  }
  if (name == "lower") return v.is_string() && py_lower(v.as_string()) == v.as_string() && py_upper(v.as_string()) != v.as_string();
  if (name == "upper") return v.is_string() && py_upper(v.as_string()) == v.as_string() && py_lower(v.as_string()) != v.as_string();
  if (name == "escaped") return false;
  return fail("TemplateAssertionError: no test named '{}'", name);
}

}  // namespace officina::jinja
