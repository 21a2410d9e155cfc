// The parts a Tokenizer is made of, shared by its loaders (tokenizer_json.cc,
// tokenizer_gguf.cc) and its methods (tokenizer.cc). Internal to src/text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "text/added_tokens.h"
#include "text/bpe_model.h"
#include "text/text_pipeline.h"
#include "text/tokenizer.h"
#include "text/vocabulary.h"

namespace officina {

struct Tokenizer::Impl {
  TokenizerKind kind = TokenizerKind::SentencePieceBpe;
  std::string where;  // the file the vocabulary came from, for messages
  Vocabulary vocab;
  BpeModel bpe;
  TextPipeline pipeline;
  AddedTokenMatcher added;
  int32_t bos = -1;
  int32_t eos = -1;
  bool add_bos = false;
  bool strip_leading_space = false;        // decode drops the space the pipeline prepended
  bool has_scores = false;                 // vocab.score holds SentencePiece scores (GGUF "llama")
  int32_t eot = -1;                        // end of turn (GGUF tokenizer.ggml.eot_token_id)
  int32_t eom = -1;                        // end of message (GGUF tokenizer.ggml.eom_token_id)
  std::vector<int32_t> end_of_generation;  // sorted

  // Completes loading: validates special ids (errors name `where`), fills
  // end_of_generation from eos, `extra_end_ids` and well-known end-of-turn
  // token names, and sets strip_leading_space from the pipeline.
  Result<void> finish(std::span<const int32_t> extra_end_ids);

  void encode(std::string_view text, bool add_bos_token, bool parse_special, std::vector<int32_t>& out) const;
};

// Names of special tokens that end a generation turn in common chat formats.
std::span<const std::string_view> end_of_generation_token_names();
// Names tried, in order, for EOS when the metadata names none.
std::span<const std::string_view> fallback_eos_token_names();

}  // namespace officina
