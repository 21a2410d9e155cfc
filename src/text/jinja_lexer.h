// Splits a Jinja template into tokens the way Jinja2's lexer does with the
// settings Hugging Face uses for chat templates: text, `{{ }}` and `{% %}`
// delimiters, and inside them names, literals and operators. Whitespace
// control is applied here: `{%-`/`-%}` strip all whitespace beside the tag,
// trim_blocks drops the newline after a block or comment tag, lstrip_blocks
// drops spaces and tabs before a block or comment tag that starts a line,
// `{%+`/`+%}` turn those off. Newlines are normalised to "\n" and one trailing
// newline of the template is dropped (keep_trailing_newline = false).
// Comments are dropped; `{% raw %}` blocks become text.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace officina::jinja {

enum class TokenKind : uint8_t {
  Text,
  VariableBegin,  // {{
  VariableEnd,    // }}
  BlockBegin,     // {%
  BlockEnd,       // %}
  Name,
  String,         // text holds the unescaped value
  Integer,
  Float,
  Operator,
  End,            // end of the template
};

struct Token {
  TokenKind kind;
  std::string text;
  int line = 1;
  int column = 1;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// Fails with "NAME:LINE:COLUMN: ..." for unterminated tags, comments or
// strings, unbalanced brackets and unknown characters.
Result<std::vector<Token>> lex_template(std::string_view source, std::string_view name,
                                        const LexOptions& options = {});

}  // namespace officina::jinja
