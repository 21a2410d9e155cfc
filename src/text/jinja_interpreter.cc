#include "text/jinja_interpreter.h"

#include <chrono>
#include <cmath>

#include "text/jinja_builtins.h"

namespace officina::jinja {

Interpreter::Interpreter(const Template& tmpl, RenderLimits limits) : tmpl_(tmpl), limits_(limits) {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  localtime_r(&t, &now_);
  frames_.push_back(Frame{});
  install_globals(globals_);
}

void Interpreter::set_variable(std::string name, Value value) {
  frames_[0].vars.emplace_back(std::move(name), std::move(value));
}

std::unexpected<Error> Interpreter::raise(std::string message) {
  raised_ = true;
  return std::unexpected(Error{std::move(message)});
}

std::unexpected<Error> Interpreter::error_at(const Expr& expr, std::string_view message) const {
  return fail("{}:{}:{}: {}", tmpl_.name, expr.line, expr.column, message);
}

std::unexpected<Error> Interpreter::locate(const Error& inner, int line, int column) const {
  // raise_exception() messages and errors that already name a place pass through.
  if (raised_ || inner.message.starts_with(tmpl_.name + ":")) return std::unexpected(inner);
  return fail("{}:{}:{}: {}", tmpl_.name, line, column, inner.message);
}

Result<void> Interpreter::count_step(int64_t n) {
  steps_ += n;
  if (steps_ > limits_.max_steps)
    return fail("the template ran more than {} steps (an unbounded loop or recursion?)", limits_.max_steps);
  return {};
}

Result<void> Interpreter::append(std::string& out, std::string_view text) {
  if (out.size() + text.size() > limits_.max_output_bytes)
    return fail("the rendered text would exceed {} bytes", limits_.max_output_bytes);
  out.append(text);
  return {};
}

Result<std::string> Interpreter::render() {
  std::string out;
  top_output_ = &out;
  auto flow = exec_body(tmpl_.body, out);
  if (!flow) return std::unexpected(flow.error());
  return out;
}

const Value* Interpreter::lookup(std::string_view name) const {
  for (int f = current_; f >= 0; f = frames_[f].parent) {
    const auto& vars = frames_[f].vars;
    for (auto it = vars.rbegin(); it != vars.rend(); ++it)
      if (it->first == name) return &it->second;
  }
  auto it = globals_.find(std::string(name));
  return it == globals_.end() ? nullptr : &it->second;
}

void Interpreter::assign(std::string name, Value value) {
  auto& vars = frames_[current_].vars;
  for (auto& [k, v] : vars) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars.emplace_back(std::move(name), std::move(value));
}

Result<void> Interpreter::assign_targets(const std::vector<std::string>& targets, const Value& value, int line,
                                         int column) {
  if (targets.size() == 1) {
    assign(targets[0], value);
    return {};
  }
  std::vector<Value> items;
  if (value.is_list()) items = value.as_list().items;
  else if (value.is_string())
    for (char c : value.as_string()) items.emplace_back(std::string(1, c));
  else
    return fail("{}:{}:{}: cannot unpack non-iterable {} object", tmpl_.name, line, column, value.type_name());
  if (items.size() != targets.size())
    return fail("{}:{}:{}: expected {} values to unpack, got {}", tmpl_.name, line, column, targets.size(), items.size());
  for (size_t i = 0; i < targets.size(); ++i) assign(targets[i], items[i]);
  return {};
}

// ---------------------------------------------------------------- statements

Result<Interpreter::Flow> Interpreter::exec_body(const Body& body, std::string& out) {
  for (const auto& stmt : body) {
    OFFICINA_TRY(Flow flow, exec(*stmt, out));
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

Result<Interpreter::Flow> Interpreter::exec(const Stmt& stmt, std::string& out) {
  OFFICINA_CHECK(count_step());
  switch (stmt.kind) {
    case StmtKind::Text: OFFICINA_CHECK(append(out, stmt.text)); return Flow::Normal;
    case StmtKind::Output: {
      OFFICINA_TRY(Value v, eval(*stmt.expr));
      auto appended = append(out, v.str());
      if (!appended) return locate(appended.error(), stmt.line, stmt.column);
      return Flow::Normal;
    }
    case StmtKind::If:
      for (size_t i = 0; i < stmt.conditions.size(); ++i) {
        OFFICINA_TRY(Value cond, eval(*stmt.conditions[i]));
        if (cond.truthy()) return exec_body(stmt.bodies[i], out);
      }
      return exec_body(stmt.else_body, out);
    case StmtKind::For: return exec_for(stmt, out);
    case StmtKind::Set: OFFICINA_CHECK(exec_set(stmt)); return Flow::Normal;
    case StmtKind::SetBlock: {
      std::string captured;
      OFFICINA_CHECK(exec_body(stmt.bodies[0], captured));
      Value v(std::move(captured));
      if (stmt.expr) {
        OFFICINA_TRY(v, eval_filter(*stmt.expr, &v));
      }
      assign(stmt.text, std::move(v));
      return Flow::Normal;
    }
    case StmtKind::Macro: assign(stmt.text, make_macro(stmt, false)); return Flow::Normal;
    case StmtKind::CallBlock: {
      const Expr& call = *stmt.expr;
      OFFICINA_TRY(Value callee, eval(*call.args[0]));
      OFFICINA_TRY(CallArgs args, eval_args(call, 1));
      args.keyword.emplace_back("caller", make_macro(stmt, true));
      auto result = call_value(callee, args);
      if (!result) return locate(result.error(), call.line, call.column);
      OFFICINA_CHECK(append(out, result->str()));
      return Flow::Normal;
    }
    case StmtKind::FilterBlock: {
      std::string captured;
      OFFICINA_CHECK(exec_body(stmt.bodies[0], captured));
      Value v(std::move(captured));
      OFFICINA_TRY(Value filtered, eval_filter(*stmt.expr, &v));
      OFFICINA_CHECK(append(out, filtered.str()));
      return Flow::Normal;
    }
    case StmtKind::Break: return Flow::Break;
    case StmtKind::Continue: return Flow::Continue;
    case StmtKind::Generation: {
      size_t begin = out.size();
      OFFICINA_TRY(Flow flow, exec_body(stmt.bodies[0], out));
      if (&out == top_output_) generation_spans_.push_back({begin, out.size()});
      return flow;
    }
  }
  return Flow::Normal;
}

Result<Interpreter::Flow> Interpreter::exec_for(const Stmt& stmt, std::string& out) {
  OFFICINA_TRY(Value iterable, eval(*stmt.expr));
  std::vector<Value> items;
  switch (iterable.kind()) {
    case Value::Kind::Undefined: break;  // Jinja2 iterates an Undefined as empty
    case Value::Kind::List: items = iterable.as_list().items; break;
    case Value::Kind::Dict:
      for (const auto& [k, v] : iterable.as_dict().items) items.emplace_back(k);
      break;
    case Value::Kind::String: {
      const std::string& s = iterable.as_string();
      for (size_t i = 0; i < s.size();) {
        size_t len = 1;
        while (i + len < s.size() && (static_cast<unsigned char>(s[i + len]) & 0xC0) == 0x80) ++len;
        items.emplace_back(s.substr(i, len));
        i += len;
      }
      break;
    }
    default: return error_at(*stmt.expr, fmt::format("'{}' object is not iterable", iterable.type_name()));
  }
  // The loop body, the inline filter and the else block run in a scope of their own.
  Frame frame;
  frame.parent = current_;
  frames_.push_back(std::move(frame));
  const int saved = current_;
  current_ = static_cast<int>(frames_.size()) - 1;
  auto restore = [&] {
    frames_.pop_back();
    current_ = saved;
  };
  if (stmt.filter) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      auto bound = assign_targets(stmt.targets, item, stmt.line, stmt.column);
      if (!bound) {
        restore();
        return std::unexpected(bound.error());
      }
      auto cond = eval(*stmt.filter);
      if (!cond) {
        restore();
        return std::unexpected(cond.error());
      }
      if (cond->truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  Flow result = Flow::Normal;
  if (items.empty()) {
    auto flow = exec_body(stmt.else_body, out);
    restore();
    if (!flow) return std::unexpected(flow.error());
    return Flow::Normal;
  }
  const int64_t length = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < length; ++i) {
    auto step = count_step();
    if (!step) {
      restore();
      return locate(step.error(), stmt.line, stmt.column);
    }
    frames_[current_].vars.clear();
    auto bound = assign_targets(stmt.targets, items[i], stmt.line, stmt.column);
    if (!bound) {
      restore();
      return std::unexpected(bound.error());
    }
    DictData loop;
    loop.items.reserve(12);
    loop.items.emplace_back("index", Value(i + 1));
    loop.items.emplace_back("index0", Value(i));
    loop.items.emplace_back("revindex", Value(length - i));
    loop.items.emplace_back("revindex0", Value(length - i - 1));
    loop.items.emplace_back("first", Value(i == 0));
    loop.items.emplace_back("last", Value(i + 1 == length));
    loop.items.emplace_back("length", Value(length));
    loop.items.emplace_back("depth", Value(1));
    loop.items.emplace_back("depth0", Value(0));
    if (i > 0) loop.items.emplace_back("previtem", items[i - 1]);
    if (i + 1 < length) loop.items.emplace_back("nextitem", items[i + 1]);
    loop.items.emplace_back("cycle", Value::callable("cycle", [i](Interpreter&, const CallArgs& args) -> Result<Value> {
      if (args.positional.empty()) return fail("no items for cycling given");
      return args.positional[static_cast<size_t>(i) % args.positional.size()];
    }));
    assign("loop", Value::dict(std::move(loop)));
    auto flow = exec_body(stmt.bodies[0], out);
    if (!flow) {
      restore();
      return std::unexpected(flow.error());
    }
    if (*flow == Flow::Break) break;
  }
  restore();
  return result;
}

Result<void> Interpreter::exec_set(const Stmt& stmt) {
  OFFICINA_TRY(Value value, eval(*stmt.expr));
  if (!stmt.attribute.empty()) {
    const Value* target = lookup(stmt.targets[0]);
    if (!target || target->kind() != Value::Kind::Namespace)
      return fail("{}:{}:{}: cannot assign attribute on non-namespace object '{}'", tmpl_.name, stmt.line, stmt.column,
                  stmt.targets[0]);
    target->as_namespace().attributes.set(stmt.attribute, std::move(value));
    return {};
  }
  return assign_targets(stmt.targets, value, stmt.line, stmt.column);
}

Value Interpreter::make_macro(const Stmt& stmt, bool is_caller) {
  // A macro sees the template's top-level scope; a caller() block sees the
  // scope around the {% call %} that made it.
  const int parent = is_caller ? current_ : 0;
  const Stmt* def = &stmt;
  return Value::callable(is_caller ? "caller" : stmt.text,
                         [def, parent](Interpreter& interp, const CallArgs& args) -> Result<Value> {
                           return interp.invoke_macro(*def, parent, args, nullptr);
                         });
}

Result<Value> Interpreter::invoke_macro(const Stmt& stmt, int parent_frame, const CallArgs& args, const Value* caller) {
  (void)caller;
  if (call_depth_ >= limits_.max_call_depth)
    return fail("macro calls nested deeper than {} (unbounded recursion?)", limits_.max_call_depth);
  if (args.positional.size() > stmt.params.size())
    return fail("macro '{}' takes not more than {} argument(s)", stmt.text, stmt.params.size());
  Frame frame;
  frame.parent = parent_frame < static_cast<int>(frames_.size()) ? parent_frame : 0;
  for (size_t i = 0; i < stmt.params.size(); ++i) {
    Value v;
    if (i < args.positional.size()) {
      v = args.positional[i];
    } else if (const Value* kw = args.keyword_arg(stmt.params[i])) {
      v = *kw;
    } else if (stmt.defaults[i]) {
      auto d = eval(*stmt.defaults[i]);
      if (!d) return std::unexpected(d.error());
      v = std::move(*d);
    } else {
      v = Value::undefined(fmt::format("parameter '{}' was not provided", stmt.params[i]));
    }
    frame.vars.emplace_back(stmt.params[i], std::move(v));
  }
  if (const Value* c = args.keyword_arg("caller")) frame.vars.emplace_back("caller", *c);
  for (const auto& [name, v] : args.keyword) {
    bool known = name == "caller";
    for (const auto& p : stmt.params) known = known || p == name;
    if (!known) return fail("macro '{}' takes no keyword argument '{}'", stmt.text, name);
  }
  frames_.push_back(std::move(frame));
  const int saved = current_;
  current_ = static_cast<int>(frames_.size()) - 1;
  ++call_depth_;
  std::string out;
  auto flow = exec_body(stmt.bodies[0], out);
  --call_depth_;
  frames_.pop_back();
  current_ = saved;
  if (!flow) return std::unexpected(flow.error());
  return Value(std::move(out));
}

}  // namespace officina::jinja
