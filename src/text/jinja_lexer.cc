#include "text/jinja_lexer.h"

#include <cctype>

#include "text/utf8.h"

namespace officina::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string source, std::string_view name, const LexOptions& options)
      : src_(std::move(source)), name_(name), options_(options) {}

  Result<std::vector<Token>> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      size_t start = find_tag_start(pos_);
      std::string text = src_.substr(pos_, start == std::string::npos ? std::string::npos : start - pos_);
      if (start == std::string::npos) {
        emit_text(std::move(text), pos_);
        break;
      }
      char kind = src_[start + 1];
      char sign = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (sign == '-') {
        size_t keep = text.size();
        while (keep > 0 && is_space(text[keep - 1])) --keep;
        text.resize(keep);
      } else if (sign != '+' && options_.lstrip_blocks && kind != '{') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size()) {
          bool all_space = true;
          for (size_t i = l_pos; i < text.size(); ++i) all_space = all_space && is_space(text[i]);
          if (all_space) text.resize(l_pos);
        }
      }
      emit_text(std::move(text), pos_);
      size_t inner = start + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        OFFICINA_TRY(line_starting, lex_comment(start, inner));
      } else if (kind == '%' && is_raw_begin(inner)) {
        OFFICINA_TRY(line_starting, lex_raw(start));
      } else {
        OFFICINA_TRY(line_starting, lex_tag(kind == '{', start, inner));
      }
    }
    tokens_.push_back({TokenKind::End, "", line_of(src_.size()), column_of(src_.size())});
    return std::move(tokens_);
  }

 private:
  size_t find_tag_start(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return std::string::npos;
  }

  int line_of(size_t offset) {
    // Offsets only grow, so the line count is kept incrementally.
    for (; line_scan_ < offset && line_scan_ < src_.size(); ++line_scan_) {
      if (src_[line_scan_] == '\n') {
        ++line_;
        line_begin_ = line_scan_ + 1;
      }
    }
    return line_;
  }
  int column_of(size_t offset) {
    line_of(offset);
    return static_cast<int>(offset - line_begin_) + 1;
  }

  std::unexpected<Error> error_at(size_t offset, std::string_view message) {
    return fail("{}:{}:{}: {}", name_, line_of(offset), column_of(offset), message);
  }

  void emit_text(std::string text, size_t offset) {
    if (text.empty()) return;
    tokens_.push_back({TokenKind::Text, std::move(text), line_of(offset), column_of(offset)});
  }

  // After a closing delimiter at `after`: "-" strips all following whitespace,
  // trim_blocks drops one newline after block and comment tags. Returns
  // whether the consumed text ended in a newline (line_starting).
  bool finish_tag(size_t after, char sign, bool block_like) {
    bool newline = false;
    if (sign == '-') {
      while (after < src_.size() && is_space(src_[after])) newline = src_[after++] == '\n';
    } else if (sign != '+' && block_like && options_.trim_blocks && after < src_.size() && src_[after] == '\n') {
      ++after;
      newline = true;
    }
    pos_ = after;
    return newline;
  }

  Result<bool> lex_comment(size_t start, size_t inner) {
    size_t end = src_.find("#}", inner);
    if (end == std::string::npos) return error_at(start, "missing end of comment tag '#}'");
    char sign = end > inner && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    return finish_tag(end + 2, sign, true);
  }

  bool is_raw_begin(size_t inner) const {
    size_t p = inner;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    size_t q = p;
    while (q < src_.size() && is_space(src_[q])) ++q;
    return q < src_.size() && (src_.compare(q, 2, "%}") == 0 || src_.compare(q, 3, "-%}") == 0 ||
                               src_.compare(q, 3, "+%}") == 0);
  }

  Result<bool> lex_raw(size_t start) {
    size_t close = src_.find("%}", start);
    char sign = src_[close - 1];
    finish_tag(close + 2, sign == '-' ? '-' : '\0', false);  // no trim_blocks after {% raw %}
    size_t body = pos_;
    for (size_t p = body; (p = src_.find("{%", p)) != std::string::npos; p += 2) {
      size_t q = p + 2;
      char open_sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q++] : '\0';
      while (q < src_.size() && is_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && is_space(src_[q])) ++q;
      char end_sign = '\0';
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) end_sign = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) continue;
      std::string text = src_.substr(body, p - body);
      if (open_sign == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      }
      emit_text(std::move(text), body);
      return finish_tag(q + 2, end_sign, true);
    }
    return error_at(start, "missing end of raw directive '{% endraw %}'");
  }

  Result<bool> lex_tag(bool variable, size_t start, size_t inner) {
    tokens_.push_back({variable ? TokenKind::VariableBegin : TokenKind::BlockBegin, variable ? "{{" : "{%",
                       line_of(start), column_of(start)});
    std::vector<char> brackets;
    size_t p = inner;
    const char close_char = variable ? '}' : '%';
    while (true) {
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (p >= src_.size())
        return error_at(start, variable ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
      if (brackets.empty()) {
        char sign = (src_[p] == '-' || src_[p] == '+') ? src_[p] : '\0';
        size_t q = p + (sign ? 1 : 0);
        if (q + 1 < src_.size() && src_[q] == close_char && src_[q + 1] == '}' && (variable ? sign != '+' : true)) {
          tokens_.push_back({variable ? TokenKind::VariableEnd : TokenKind::BlockEnd, variable ? "}}" : "%}",
                             line_of(p), column_of(p)});
          return finish_tag(q + 2, sign, !variable);
        }
      }
      OFFICINA_CHECK(lex_operand(p, brackets));
    }
  }

  Result<void> lex_operand(size_t& p, std::vector<char>& brackets) {
    const size_t begin = p;
    const char c = src_[p];
    auto push = [&](TokenKind kind, std::string text) {
      tokens_.push_back({kind, std::move(text), line_of(begin), column_of(begin)});
    };
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (p < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) ++p;
      push(TokenKind::Name, src_.substr(begin, p - begin));
      return {};
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(p);
    if (c == '\'' || c == '"') return lex_string(p);
    static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwo) {
      if (src_.compare(p, 2, op) == 0) {
        p += 2;
        push(TokenKind::Operator, std::string(op));
        return {};
      }
    }
    static constexpr std::string_view kOne = "+-*/%~[](){}<>=.:|,;";
    if (kOne.find(c) == std::string_view::npos) {
      if (static_cast<unsigned char>(c) >= 0x80) return error_at(p, "unexpected character in tag (non-ASCII outside a string)");
      return error_at(p, fmt::format("unexpected character '{}' in tag", c));
    }
    if (c == '(' || c == '[' || c == '{') brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty()) return error_at(p, fmt::format("unexpected '{}'", c));
      if (brackets.back() != c) return error_at(p, fmt::format("unexpected '{}', expected '{}'", c, brackets.back()));
      brackets.pop_back();
    }
    if (brackets.size() > 256) return error_at(p, "brackets nested deeper than 256 levels");
    ++p;
    push(TokenKind::Operator, std::string(1, c));
    return {};
  }

  Result<void> lex_number(size_t& p) {
    const size_t begin = p;
    auto digits = [&] {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) ++p;
    };
    digits();
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' && std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
      is_float = true;
      ++p;
      digits();
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        is_float = true;
        p = q;
        digits();
      }
    }
    std::string text;
    for (size_t i = begin; i < p; ++i)
      if (src_[i] != '_') text += src_[i];
    tokens_.push_back({is_float ? TokenKind::Float : TokenKind::Integer, std::move(text), line_of(begin), column_of(begin)});
    return {};
  }

  Result<void> lex_string(size_t& p) {
    const size_t begin = p;
    const char quote = src_[p++];
    std::string value;
    while (true) {
      if (p >= src_.size()) return error_at(begin, "unterminated string literal");
      char c = src_[p++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (p >= src_.size()) return error_at(begin, "unterminated string literal");
      char e = src_[p++];
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          int width = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int i = 0; i < width; ++i) {
            if (p >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[p])))
              return error_at(p, fmt::format("truncated \\{} escape in string literal", e));
            char h = src_[p++];
            cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
          }
          if (cp > 0x10FFFF) return error_at(p, "escape in string literal is not a Unicode code point");
          utf8_append(value, (cp >= 0xD800 && cp <= 0xDFFF) ? char32_t{0xFFFD} : static_cast<char32_t>(cp));
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && p < src_.size() && src_[p] >= '0' && src_[p] <= '7'; ++i)
              cp = cp * 8 + static_cast<uint32_t>(src_[p++] - '0');
            utf8_append(value, static_cast<char32_t>(cp));
          } else {
            value += '\\';  // Python keeps unknown escapes as written
            value += e;
          }
      }
    }
    tokens_.push_back({TokenKind::String, std::move(value), line_of(begin), column_of(begin)});
    return {};
  }

  std::string src_;
  std::string_view name_;
  LexOptions options_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
  int line_ = 1;
  size_t line_begin_ = 0;
  size_t line_scan_ = 0;
};

}  // namespace

Result<std::vector<Token>> lex_template(std::string_view source, std::string_view name, const LexOptions& options) {
  if (source.size() > (64u << 20)) return fail("{}: template is larger than 64 MiB", name);
  return Lexer(normalize_newlines(source), name, options).run();
}

}  // namespace officina::jinja
