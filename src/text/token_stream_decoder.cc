#include "text/tokenizer.h"
#include "text/utf8.h"

namespace officina {

std::string TokenStreamDecoder::feed(int32_t id) {
  if (id < 0 || id >= tokenizer_->vocab_size()) return {};
  if (options_.skip_special && tokenizer_->is_special(id)) return {};
  std::string piece = tokenizer_->token_bytes(id);
  if (first_) {
    first_ = false;
    if (options_.strip_leading_space && tokenizer_->decode_strips_leading_space() && piece.starts_with(' '))
      piece.erase(0, 1);
  }
  pending_ += piece;
  // Emit everything up to an unfinished character; bytes that can never
  // become valid UTF-8 are replaced now rather than held forever.
  const size_t ready = utf8_complete_prefix(pending_);
  std::string out = utf8_sanitize(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string TokenStreamDecoder::flush() {
  std::string out = utf8_sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace officina
