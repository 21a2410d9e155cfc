// Parses a Jinja template (the subset chat templates use, with Jinja2's
// operator precedence) into a syntax tree: if/elif/else, for (tuple targets,
// inline if, else), set (names, namespace attributes, blocks), macro, call,
// filter blocks, break/continue, generation blocks, and expressions with
// literals, attribute/item access, slicing, calls with keyword arguments,
// filters, tests, arithmetic, `~`, comparisons, `in`, logic and conditional
// expressions. Unsupported tags (extends, include, import, block) are errors.
// Thread-safety: pure function.
#pragma once

#include <string_view>

#include "base/error.h"
#include "text/jinja_ast.h"
#include "text/jinja_lexer.h"

namespace officina::jinja {

// Fails with "NAME:LINE:COLUMN: message" for syntax errors, unclosed blocks,
// and nesting deeper than 128 levels.
Result<Template> parse_template(std::string_view source, std::string_view name, const LexOptions& options = {});

}  // namespace officina::jinja
