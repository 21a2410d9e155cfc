// The syntax tree of a parsed Jinja template: expressions and statements as
// plain structs with a kind tag; each node remembers its line and column for
// error messages. Built by parse_template (jinja_parser.h), walked by the
// Interpreter (jinja_interpreter.h).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja_value.h"

namespace officina::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind : uint8_t {
  Literal,      // value
  Name,         // name
  List,         // args = elements
  Tuple,        // args = elements
  Dict,         // args = key0, value0, key1, value1, ...
  Attribute,    // args[0].name
  Item,         // args[0][args[1]]
  Slice,        // args[0][args[1]:args[2]:args[3]] (null parts allowed)
  Call,         // args[0](args[1..], keywords)
  Filter,       // args[0] | name(args[1..], keywords); args[0] null in filter blocks
  Test,         // args[0] is [not] name(args[1..])
  Not,          // not args[0]
  Negate,       // -args[0]
  Plus,         // +args[0]
  Binary,       // args[0] op args[1]: + - * / // % ** ~
  And,          // args[0] and args[1]
  Or,           // args[0] or args[1]
  Compare,      // args[0] ops[0] args[1] ops[1] args[2] ...: == != < <= > >= in "not in"
  Conditional,  // args[0] if args[1] else args[2] (args[2] may be null)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  int column = 0;
  Value value;                    // Literal
  std::string name;               // Name, Attribute, Filter, Test; operator of Binary
  bool negated = false;           // Test: "is not"
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> keywords;  // Call, Filter
  std::vector<std::string> ops;   // Compare
};

enum class StmtKind : uint8_t {
  Text,         // text
  Output,       // {{ expr }}
  If,           // conditions[i] -> bodies[i]; else_body
  For,          // for targets in expr [if filter] body [else else_body]
  Set,          // set targets = expr, or set target.attribute = expr
  SetBlock,     // {% set target %}body{% endset %}, optional filter
  Macro,        // macro name(params) body
  CallBlock,    // {% call(params) expr %}body{% endcall %}
  FilterBlock,  // {% filter expr %}body{% endfilter %}
  Break,
  Continue,
  Generation,   // {% generation %}body{% endgeneration %}: marks assistant text
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  int column = 0;
  std::string text;                 // Text; name of Macro / SetBlock target
  ExprPtr expr;                     // Output, For iterable, Set value, CallBlock call, FilterBlock/SetBlock filter
  ExprPtr filter;                   // For: the inline "if" condition
  std::vector<std::string> targets; // For, Set (one or several names)
  std::string attribute;            // Set: namespace attribute (targets[0].attribute)
  std::vector<ExprPtr> conditions;  // If
  std::vector<Body> bodies;         // If: one per condition; For/Macro/...: bodies[0]
  Body else_body;                   // If, For
  std::vector<std::string> params;  // Macro, CallBlock
  std::vector<ExprPtr> defaults;    // Macro, CallBlock: one per param (null = required)
};

struct Template {
  std::string name;
  Body body;
};

}  // namespace officina::jinja
