// Tokenizers of Llama/Mistral-family models:
//  - SentencePiece-style BPE with byte fallback (GGUF tokenizer.ggml.model =
//    "llama"; tokenizer.json model BPE with byte_fallback),
//  - byte-level BPE (GGUF "gpt2"; tokenizer.json with a ByteLevel
//    pre-tokenizer and its split regexes, e.g. the Llama-3 pattern).
// Added/special tokens are matched before the BPE runs. docs/tokenizers.md
// describes the pipeline, the BOS/EOS rules and what is not supported.
// Failure: the loaders return an Error (one line: file, key or JSON path,
// problem); encode/decode never fail (invalid UTF-8 input is tokenized as
// bytes, unknown ids decode to nothing).
// Thread-safety: immutable after loading; every method is const and safe to
// call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "formats/gguf_value.h"

namespace officina {

class GgufFile;

enum class TokenizerKind { SentencePieceBpe, ByteLevelBpe };

class Tokenizer {
 public:
  // From GGUF metadata (tokenizer.ggml.*); errors name the key.
  static Result<Tokenizer> from_gguf(const GgufFile& gguf);
  // From a Hugging Face tokenizer.json (and optional tokenizer_config.json for
  // add_bos_token/bos/eos); errors name the file and the JSON path.
  static Result<Tokenizer> from_json_files(const std::string& tokenizer_json,
                                           const std::string& tokenizer_config_json = "");
  static Result<Tokenizer> from_json_text(std::string_view tokenizer_json, std::string_view where,
                                          std::string_view tokenizer_config_json = "");

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  TokenizerKind kind() const;
  int32_t vocab_size() const;
  int32_t bos_id() const;                       // -1 when the metadata names none
  int32_t eos_id() const;                       // -1 when the metadata names none and no </s>-like token exists
  bool add_bos_default() const;                 // whether the model expects BOS by default
  bool is_end_of_generation(int32_t id) const;  // eos, eot, <|eot_id|>, ...
  // Control and unknown tokens (<s>, </s>, <|eot_id|>, <unk>): the ones
  // decode(skip_special = true) leaves out.
  bool is_special(int32_t id) const;
  // Whether decode() drops the space the SentencePiece pipeline put in front
  // of the text (true for Llama-2-style vocabularies).
  bool decode_strips_leading_space() const;
  // The id of a vocabulary entry by its stored text ("<|eot_id|>", "▁Hello");
  // nullopt when there is none.
  std::optional<int32_t> token_id(std::string_view token_text) const;

  // Text to ids; add_bos prepends BOS (when bos_id() >= 0); parse_special
  // matches special tokens written in the text ("<|eot_id|>") instead of
  // tokenizing their characters (non-special added tokens always match).
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special = true) const;
  // The raw bytes of one token (byte-fallback tokens give their byte; may be
  // a partial UTF-8 sequence); empty for an id outside the vocabulary.
  std::string token_bytes(int32_t id) const;
  // The text of a sequence (SentencePiece: leading space of the first piece
  // removed when it came from the added prefix). Raw bytes: a sequence cut
  // inside a character is not valid UTF-8 (use TokenStreamDecoder).
  std::string decode(std::span<const int32_t> ids, bool skip_special = true) const;
  // The vocabulary entry as stored (for display): "▁Hello", "<0x0A>"; empty
  // for an id outside the vocabulary.
  const std::string& token_text(int32_t id) const;

  // The tokenizer as GGUF metadata (tokenizer.ggml.model, tokens, scores,
  // token_type, merges, pre, special ids, add_bos_token, add_space_prefix),
  // so a model loaded from tokenizer.json can be written as GGUF and read
  // back by from_gguf (and llama.cpp). SentencePiece vocabularies read from
  // tokenizer.json get scores from their merge ranks. Fails naming the
  // step when the pipeline has no GGUF equivalent (e.g. a Digits split).
  Result<std::vector<std::pair<std::string, GgufValue>>> gguf_metadata() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TokenStreamOptions {
  bool skip_special = true;  // leave out control tokens, as decode() does
  // Drop the prefix space of the first piece (only where
  // decode_strips_leading_space()), as decode() of the same ids does. Set it
  // to false when the ids continue a text mid-sentence (plain completion).
  bool strip_leading_space = true;
};

// Streaming decoder: feed ids one at a time, get back text only once it is
// complete UTF-8 (a character split across tokens is held until finished;
// bytes that can never complete one come out as U+FFFD). Concatenating the
// outputs of feed() and flush() gives decode()'s text for valid UTF-8.
// Not thread-safe (one decoder per stream); the tokenizer must outlive it.
class TokenStreamDecoder {
 public:
  explicit TokenStreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}
  TokenStreamDecoder(const Tokenizer& tokenizer, TokenStreamOptions options)
      : tokenizer_(&tokenizer), options_(options) {}
  std::string feed(int32_t id);
  std::string flush();  // whatever is left, invalid bytes replaced by U+FFFD

 private:
  const Tokenizer* tokenizer_;
  TokenStreamOptions options_;
  std::string pending_;
  bool first_ = true;
};

}  // namespace officina
