#include "text/utf8.h"

namespace officina {

namespace {

// Expected sequence length from the lead byte; 0 for a byte that cannot start one.
uint32_t lead_length(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// The allowed range of the second byte depends on the lead byte (this is what
// excludes overlong forms, surrogates and values above U+10FFFF).
bool second_byte_ok(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0:
      return b >= 0xA0 && b <= 0xBF;
    case 0xED:
      return b >= 0x80 && b <= 0x9F;
    case 0xF0:
      return b >= 0x90 && b <= 0xBF;
    case 0xF4:
      return b >= 0x80 && b <= 0x8F;
    default:
      return b >= 0x80 && b <= 0xBF;
  }
}

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

}  // namespace

Utf8Char utf8_decode(std::string_view text, size_t pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const unsigned char lead = s[pos];
  const uint32_t len = lead_length(lead);
  if (len == 1) return {lead, 1, true};
  if (len == 0 || pos + len > n) return {0xFFFD, 1, false};
  if (!second_byte_ok(lead, s[pos + 1])) return {0xFFFD, 1, false};
  for (uint32_t i = 2; i < len; ++i)
    if (!is_continuation(s[pos + i])) return {0xFFFD, 1, false};
  char32_t cp = 0;
  if (len == 2)
    cp = (lead & 0x1F);
  else if (len == 3)
    cp = (lead & 0x0F);
  else
    cp = (lead & 0x07);
  for (uint32_t i = 1; i < len; ++i) cp = (cp << 6) | (s[pos + i] & 0x3F);
  return {cp, len, true};
}

size_t utf8_find_invalid(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // ASCII runs are the common case in vocabularies and JSON.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    Utf8Char c = utf8_decode(text, pos);
    if (!c.valid) return pos;
    pos += c.length;
  }
  return std::string_view::npos;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_complete_prefix(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  // Only the last three bytes can belong to an unfinished sequence.
  const size_t lookback = n < 3 ? n : 3;
  for (size_t back = 1; back <= lookback; ++back) {
    const size_t start = n - back;
    const uint32_t len = lead_length(s[start]);
    if (len == 0) continue;     // a continuation (or invalid) byte: look further back
    if (len <= back) return n;  // the last lead byte's sequence fits: nothing pending
    // The tail is [start, n): a lead byte that wants more. Hold it only if
    // what has arrived so far can still become a valid character.
    if (back >= 2 && !second_byte_ok(s[start], s[start + 1])) return n;
    for (size_t i = start + 2; i < n; ++i)
      if (!is_continuation(s[i])) return n;
    return start;
  }
  return n;
}

std::string utf8_sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    Utf8Char c = utf8_decode(text, pos);
    if (c.valid)
      out.append(text.substr(pos, c.length));
    else
      utf8_append(out, 0xFFFD);
    pos += c.length;
  }
  return out;
}

std::string utf8_printable(std::string_view text, size_t max_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  size_t pos = 0;
  size_t chars = 0;
  while (pos < text.size()) {
    if (chars++ == max_chars) {
      out += "...";
      break;
    }
    Utf8Char c = utf8_decode(text, pos);
    if (c.valid && c.code_point >= 0x20 && c.code_point != 0x7F && !(c.code_point >= 0x80 && c.code_point < 0xA0) &&
        c.code_point != 0x2028 && c.code_point != 0x2029) {
      out.append(text.substr(pos, c.length));
    } else if (c.code_point == '\n') {
      out += "\\n";
    } else if (c.code_point == '\t') {
      out += "\\t";
    } else if (c.code_point == '\r') {
      out += "\\r";
    } else if (c.valid && c.code_point > 0xFF) {
      out += c.code_point == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      // An invalid byte or a C0/C1 control: show the raw byte(s).
      for (uint32_t i = 0; i < c.length; ++i) {
        const auto b = static_cast<unsigned char>(text[pos + i]);
        out += "\\x";
        out += kHex[b >> 4];
        out += kHex[b & 15];
      }
    }
    pos += c.length;
  }
  return out;
}

}  // namespace officina
