// What happens to a plain segment of text (between added tokens) before the
// BPE: the normalizer rewrites it, the pre-tokenizer cuts it into words.
// Supported steps mirror the tokenizer.json components Llama/Mistral-family
// vocabularies use:
//   normalizers:     Prepend, Replace (literal pattern)
//   pre-tokenizers:  Split (a SplitPattern, behaviour Isolated), ByteLevel
//                    (add_prefix_space, use_regex = GPT-2 pattern), Digits
//                    (individual_digits), Metaspace (replacement,
//                    prepend_scheme, split)
// The GGUF loaders express their fixed behaviour with the same steps.
// Thread-safety: immutable after construction; run() is const.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text/pretokenizer_regex.h"

namespace officina {

struct NormalizerStep {
  enum class Kind { Prepend, Replace };
  Kind kind = Kind::Prepend;
  std::string pattern;  // Replace: the literal text replaced
  std::string content;  // Prepend: the prefix; Replace: the replacement
};

// When Metaspace puts its replacement character in front of a word.
enum class PrependScheme { Always, First, Never };

struct PreTokenizerStep {
  enum class Kind { Split, ByteLevel, Digits, Metaspace };
  Kind kind = Kind::Split;
  SplitPattern pattern = SplitPattern::Gpt2;             // Split
  bool use_regex = true;                                 // ByteLevel: split with the GPT-2 pattern
  bool add_prefix_space = false;                         // ByteLevel
  bool individual_digits = false;                        // Digits
  std::string replacement = "\xE2\x96\x81";              // Metaspace ("▁")
  PrependScheme prepend_scheme = PrependScheme::Always;  // Metaspace
  bool split = true;                                     // Metaspace: cut before each replacement
};

struct TextPipeline {
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;

  // Appends the words of one segment. first_segment: the segment starts the
  // input (Metaspace's prepend_scheme "first" prepends only there).
  void run(std::string_view segment, bool first_segment, std::vector<std::string>& words) const;
  // Whether decoding should drop one leading space that the pipeline added
  // in front of the text (a Prepend of "▁" or a Metaspace that prepends).
  bool adds_prefix_space() const;
};

}  // namespace officina
