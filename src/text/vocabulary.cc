#include "text/vocabulary.h"

#include <algorithm>

#include "text/byte_level.h"

namespace officina {

namespace {

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<uint8_t> parse_byte_token(std::string_view t) {
  if (t.size() != 6 || !t.starts_with("<0x") || t[5] != '>') return std::nullopt;
  const int hi = hex_value(t[3]), lo = hex_value(t[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<uint8_t>(hi * 16 + lo);
}

int32_t Vocabulary::add(std::string token_text, TokenType token_type, float token_score) {
  text.push_back(std::move(token_text));
  type.push_back(token_type);
  score.push_back(token_score);
  return size() - 1;
}

std::optional<int32_t> Vocabulary::find_text(std::string_view token_text) const {
  auto it = text_index_.find(token_text);
  if (it == text_index_.end()) return std::nullopt;
  return it->second;
}

std::vector<bool> Vocabulary::tokens_of_types(std::initializer_list<TokenType> types) const {
  std::vector<bool> mask(text.size());
  for (int32_t id = 0; id < size(); ++id) mask[id] = std::find(types.begin(), types.end(), type[id]) != types.end();
  return mask;
}

void Vocabulary::build_index(bool byte_level, const std::vector<bool>& is_piece) {
  bytes.assign(text.size(), std::string());
  byte_token.fill(-1);
  piece_index_.clear();
  piece_index_.reserve(text.size());
  text_index_.clear();
  text_index_.reserve(text.size());
  for (int32_t id = 0; id < size(); ++id) {
    const std::string& t = text[id];
    const TokenType ty = type[id];
    text_index_.emplace(t, id);
    const bool piece = id < static_cast<int32_t>(is_piece.size()) && is_piece[id];
    if (ty == TokenType::Byte) {
      if (auto b = parse_byte_token(t)) {
        bytes[id] = std::string(1, static_cast<char>(*b));
        if (byte_token[*b] < 0) byte_token[*b] = id;
      } else {
        bytes[id] = t;
      }
    } else if (ty == TokenType::Control || ty == TokenType::Unknown || ty == TokenType::UserDefined) {
      // Added tokens are written as plain text in both vocabulary kinds.
      bytes[id] = t;
    } else if (byte_level) {
      auto decoded = byte_level_decode(t);
      bytes[id] = decoded ? std::move(*decoded) : t;
    } else {
      bytes[id] = replace_all(t, kSentencePieceSpace, " ");
    }
    if (piece) {
      const std::string& key = byte_level ? bytes[id] : t;
      piece_index_.emplace(key, id);  // keeps the first (lowest) id
      if (byte_level && key.size() == 1 && byte_token[static_cast<uint8_t>(key[0])] < 0)
        byte_token[static_cast<uint8_t>(key[0])] = id;
    }
  }
}

}  // namespace officina
