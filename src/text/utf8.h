// UTF-8 helpers for the tokenizers: decoding one code point at a time
// (invalid bytes are reported, never skipped silently), validation with the
// offset of the first bad byte, encoding, and the length of a complete
// prefix for streaming output.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace officina {

struct Utf8Char {
  char32_t code_point = 0;  // U+FFFD when !valid
  uint32_t length = 1;      // bytes consumed (1 for an invalid byte)
  bool valid = false;
};

// Decodes the character starting at text[pos] (pos < text.size()). Rejects
// overlong forms, surrogates and code points above U+10FFFF; an invalid
// sequence consumes exactly one byte.
Utf8Char utf8_decode(std::string_view text, size_t pos);

// The offset of the first byte that is not part of valid UTF-8, or npos.
size_t utf8_find_invalid(std::string_view text);
inline bool utf8_is_valid(std::string_view text) { return utf8_find_invalid(text) == std::string_view::npos; }

// Appends the UTF-8 encoding of a code point (assumed valid).
void utf8_append(std::string& out, char32_t code_point);

// Length of the longest prefix of `text` that does not end inside an
// incomplete (but so far valid) multi-byte sequence: what a streaming
// decoder may emit now. Invalid bytes count as complete (they never heal).
size_t utf8_complete_prefix(std::string_view text);

// Replaces every invalid byte with U+FFFD.
std::string utf8_sanitize(std::string_view text);

// For error messages: control characters and invalid bytes escaped
// ("\n", "\x1b"), cut to about max_chars characters with "...", so that a
// message stays on one line whatever a file contains.
std::string utf8_printable(std::string_view text, size_t max_chars = 48);

}  // namespace officina
