#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace officina {

namespace {

bool stands_for_itself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteLevelTables {
  std::array<char32_t, 256> to_char{};
  // Inverse for the mapped range U+0000..U+0143 (all mapped characters are
  // below 0x100 + 68); -1 where a code point is not a mapped character.
  std::array<int16_t, 0x144> to_byte{};

  ByteLevelTables() {
    to_byte.fill(-1);
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      to_char[b] = stands_for_itself(b) ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables t;
  return t;
}

}  // namespace

char32_t byte_level_char(uint8_t b) { return tables().to_char[b]; }

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) utf8_append(out, tables().to_char[static_cast<uint8_t>(c)]);
  return out;
}

std::optional<std::string> byte_level_decode(std::string_view text) {
  const auto& t = tables();
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    Utf8Char c = utf8_decode(text, pos);
    if (!c.valid || c.code_point >= t.to_byte.size() || t.to_byte[c.code_point] < 0) return std::nullopt;
    out.push_back(static_cast<char>(t.to_byte[c.code_point]));
    pos += c.length;
  }
  return out;
}

}  // namespace officina
