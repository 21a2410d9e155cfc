// The byte-to-character mapping of byte-level BPE vocabularies (GPT-2,
// Llama 3): every byte is written as a printable character so that tokens
// are valid text. Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ')
// stand for themselves; the other 68 bytes (controls, space, DEL, NBSP,
// soft hyphen) map in byte order to U+0100, U+0101, ... ("Ġ" is the space).
// officina runs byte-level BPE on raw bytes and uses this only to translate
// vocabulary entries.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace officina {

// The character that stands for byte b.
char32_t byte_level_char(uint8_t b);
// Bytes to their mapped text ("\n" -> "Ċ").
std::string byte_level_encode(std::string_view bytes);
// Mapped text back to bytes; nullopt when a character is not in the mapping
// (or the text is not valid UTF-8).
std::optional<std::string> byte_level_decode(std::string_view text);

}  // namespace officina
