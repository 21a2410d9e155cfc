// Renders a parsed Jinja template with Jinja2's semantics for the subset
// chat templates use: scoping (for loops and macros get their own scope, so
// templates use namespace() to carry state out of loops), the loop object,
// macros with defaults and caller(), filters, tests, Python-like operators,
// an Undefined that renders as "" but fails on attribute access, arithmetic
// and calls. Every rendering is bounded: output size, statements executed,
// macro recursion depth and range() lengths all have limits that turn
// runaway templates into errors.
// Thread-safety: one Interpreter renders once, on one thread; the Template
// it reads may be shared.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.h"
#include "text/jinja_ast.h"

namespace officina::jinja {

struct RenderLimits {
  size_t max_output_bytes = 32u << 20;
  int64_t max_steps = 20'000'000;  // statements, loop iterations and calls
  int max_call_depth = 100;        // nested macro calls
  int64_t max_range = 1'000'000;   // longest range()/repetition
};

// A span of output produced inside {% generation %} blocks.
struct OutputSpan {
  size_t begin = 0;
  size_t end = 0;
};

class Interpreter {
 public:
  Interpreter(const Template& tmpl, RenderLimits limits = {});

  // Variables visible to the template (messages, tools, bos_token, ...).
  void set_variable(std::string name, Value value);
  // The date strftime_now() formats (default: the local time at construction).
  void set_now(const std::tm& now) { now_ = now; }

  // Fails with "NAME:LINE:COLUMN: message" for errors of the template
  // language, or with exactly the template's message for raise_exception().
  Result<std::string> render();
  bool raised_by_template() const { return raised_; }
  const std::vector<OutputSpan>& generation_spans() const { return generation_spans_; }

  // Used by the builtins (jinja_builtins.cc).
  Result<Value> call_value(const Value& callee, const CallArgs& args);
  Result<Value> get_attribute(const Value& object, std::string_view name);
  Result<Value> apply_filter(std::string_view name, const Value& operand, const CallArgs& args);
  Result<bool> apply_test(std::string_view name, const Value& operand, const CallArgs& args);
  Result<void> count_step(int64_t n = 1);
  const RenderLimits& limits() const { return limits_; }
  const std::tm& now() const { return now_; }
  std::unexpected<Error> raise(std::string message);  // raise_exception()

 private:
  enum class Flow : uint8_t { Normal, Break, Continue };
  struct Frame {
    std::vector<std::pair<std::string, Value>> vars;
    int parent = -1;
  };

  Result<Flow> exec_body(const Body& body, std::string& out);
  Result<Flow> exec(const Stmt& stmt, std::string& out);
  Result<Flow> exec_for(const Stmt& stmt, std::string& out);
  Result<void> exec_set(const Stmt& stmt);
  Value make_macro(const Stmt& stmt, bool is_caller);
  Result<Value> invoke_macro(const Stmt& stmt, int parent_frame, const CallArgs& args, const Value* caller);

  Result<Value> eval(const Expr& expr);
  Result<Value> eval_inner(const Expr& expr);
  Result<Value> eval_binary(const Expr& expr, const Value& a, const Value& b);
  Result<bool> eval_compare(std::string_view op, const Value& a, const Value& b);
  Result<Value> eval_filter(const Expr& expr, const Value* injected);
  Result<CallArgs> eval_args(const Expr& expr, size_t first_arg);
  Result<Value> eval_slice(const Expr& expr);

  std::unexpected<Error> error_at(const Expr& expr, std::string_view message) const;
  std::unexpected<Error> locate(const Error& inner, int line, int column) const;

  const Value* lookup(std::string_view name) const;
  void assign(std::string name, Value value);
  Result<void> assign_targets(const std::vector<std::string>& targets, const Value& value, int line, int column);
  Result<void> append(std::string& out, std::string_view text);

  const Template& tmpl_;
  RenderLimits limits_;
  std::tm now_{};
  std::vector<Frame> frames_;
  int current_ = 0;
  std::unordered_map<std::string, Value> globals_;
  int64_t steps_ = 0;
  int call_depth_ = 0;
  bool raised_ = false;
  std::string* top_output_ = nullptr;  // the final text (generation spans index into it)
  std::vector<OutputSpan> generation_spans_;
};

}  // namespace officina::jinja
