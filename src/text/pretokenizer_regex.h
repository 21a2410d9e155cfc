// Hand-coded matchers for the pre-tokenizer split regexes of byte-level BPE
// vocabularies. General regex engines either lack \p{L}/\p{N} or disagree on
// their Unicode version, so each supported pattern is matched here over code
// points, following the backtracking semantics of the original regex
// (alternatives tried in order, greedy quantifiers, the (?!\S) look-ahead).
//
//   Gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//           ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Qwen2:  the Llama3 pattern with \p{N} instead of \p{N}{1,3}
//
// Invalid UTF-8 bytes in the input are single characters of no class.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace officina {

enum class SplitPattern { Gpt2, Llama3, Qwen2 };

// Recognises a tokenizer.json Split/ByteLevel regex; nullopt when unsupported.
std::optional<SplitPattern> split_pattern_from_regex(std::string_view regex);
// Maps GGUF tokenizer.ggml.pre names ("llama-bpe", "qwen2", "gpt-2", ...).
std::optional<SplitPattern> split_pattern_from_gguf_pre(std::string_view name);
std::string_view split_pattern_name(SplitPattern pattern);
// The GGUF pre names split_pattern_from_gguf_pre accepts, for error messages.
std::string_view split_pattern_supported_gguf_names();

// Splits text into consecutive pieces that cover it exactly (every character
// belongs to some match of these patterns) and appends them to `out`.
void split_pattern_apply(SplitPattern pattern, std::string_view text, std::vector<std::string_view>& out);

}  // namespace officina
