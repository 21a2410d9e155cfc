// Unicode character classes used by the pre-tokenizer patterns:
// \p{L} (General_Category Letter), \p{N} (Number) and \s (White_Space).
// Callers pass U+FFFD for an invalid byte: a symbol (So), in none of them.
// Thread-safety: pure functions over constant tables.
#pragma once

namespace officina {

bool unicode_is_letter(char32_t code_point);
bool unicode_is_number(char32_t code_point);
bool unicode_is_whitespace(char32_t code_point);

}  // namespace officina
