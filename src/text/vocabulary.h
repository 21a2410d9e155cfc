// The token table shared by every tokenizer kind: each id's stored text
// ("▁Hello", "Ġworld", "<0x0A>", "<|eot_id|>"), the bytes it stands for in
// decoded output, its type, and the index the BPE looks pieces up in.
// The BPE works on "pieces": for SentencePiece vocabularies the stored text
// (spaces written as "▁"), for byte-level vocabularies the raw bytes.
// Thread-safety: immutable after build_index(); share freely.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace officina {

// The values of GGUF tokenizer.ggml.token_type (llama.cpp's numbering).
enum class TokenType : uint8_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,      // special: BOS, EOS, <|eot_id|>; matched only with parse_special
  UserDefined = 4,  // added tokens that are always matched before the BPE
  Unused = 5,
  Byte = 6,  // byte fallback "<0xNN>"
};

// Transparent hashing so string_view lookups need no temporary string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Vocabulary {
  std::vector<std::string> text;   // as stored in the file
  std::vector<std::string> bytes;  // what the token decodes to
  std::vector<TokenType> type;
  std::vector<float> score;  // SentencePiece scores (0 when absent)
  // Byte fallback tokens (SentencePiece "<0xNN>") or single-byte tokens
  // (byte-level); -1 where the vocabulary has none.
  std::array<int32_t, 256> byte_token{};

  int32_t size() const { return static_cast<int32_t>(text.size()); }
  bool valid_id(int32_t id) const { return id >= 0 && id < size(); }
  bool is_special(int32_t id) const {
    return valid_id(id) && (type[id] == TokenType::Control || type[id] == TokenType::Unknown);
  }

  // Appends one token; returns its id.
  int32_t add(std::string token_text, TokenType token_type, float token_score = 0.0f);
  // The id of a piece, if the BPE may produce it.
  std::optional<int32_t> find_piece(std::string_view piece) const {
    auto it = piece_index_.find(piece);
    if (it == piece_index_.end()) return std::nullopt;
    return it->second;
  }
  // The id whose stored text is exactly `token_text` (any type; the lowest
  // such id). Valid after build_index().
  std::optional<int32_t> find_text(std::string_view token_text) const;

  // Fills `bytes`, `byte_token`, the text index and the piece index.
  // byte_level: pieces are the raw bytes of tokens (stored text decoded
  // through the byte-level mapping); otherwise pieces are stored texts and
  // "▁" decodes to a space. is_piece[id] says which tokens the BPE may
  // produce. Where two tokens share a piece the lower id wins.
  void build_index(bool byte_level, const std::vector<bool>& is_piece);
  // A mask for build_index: the tokens of the given types.
  std::vector<bool> tokens_of_types(std::initializer_list<TokenType> types) const;

 private:
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> piece_index_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> text_index_;
};

// Parses "<0xNN>" (upper- or lowercase hex); nullopt otherwise.
std::optional<uint8_t> parse_byte_token(std::string_view token_text);

// "▁" (U+2581), SentencePiece's visible space.
inline constexpr std::string_view kSentencePieceSpace = "\xE2\x96\x81";

}  // namespace officina
