// The hand-coded split patterns against splits worked out from the regex
// semantics (alternatives in order, greedy quantifiers, the (?!\S) look-ahead).
#include "text/pretokenizer_regex.h"

#include <gtest/gtest.h>

#include <random>

#include "text/unicode_tables.h"

namespace officina {
namespace {

std::vector<std::string> split(SplitPattern pattern, std::string_view text) {
  std::vector<std::string_view> pieces;
  split_pattern_apply(pattern, text, pieces);
  return {pieces.begin(), pieces.end()};
}

using Pieces = std::vector<std::string>;

TEST(SplitPatternLlama3, WordsSpacesAndContractions) {
  EXPECT_EQ(split(SplitPattern::Llama3, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "I'm here"), (Pieces{"I", "'m", " here"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "I'M WE'LL"), (Pieces{"I", "'M", " WE", "'LL"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "don't"), (Pieces{"don", "'t"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "' era"), (Pieces{"'", " era"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "a  b"), (Pieces{"a", " ", " b"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "a   "), (Pieces{"a", "   "}));
  EXPECT_EQ(split(SplitPattern::Llama3, "\tx"), (Pieces{"\tx"}));  // any non-letter prefix joins the word
}

TEST(SplitPatternLlama3, DigitsInGroupsOfThree) {
  EXPECT_EQ(split(SplitPattern::Llama3, "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "3.14159"), (Pieces{"3", ".", "141", "59"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "w048 7"), (Pieces{"w", "048", " ", "7"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "x\xC2\xB2"), (Pieces{"x", "\xC2\xB2"}));  // ² is a number (No)
}

TEST(SplitPatternLlama3, PunctuationAndNewlines) {
  EXPECT_EQ(split(SplitPattern::Llama3, " (normal)"), (Pieces{" (", "normal", ")"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "(normal"), (Pieces{"(normal"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "hi!!!\n\nok"), (Pieces{"hi", "!!!\n\n", "ok"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "a\n\nb"), (Pieces{"a", "\n\n", "b"}));
  // \s*[\r\n]+ stops after the last newline of a whitespace run.
  EXPECT_EQ(split(SplitPattern::Llama3, "  \n  x"), (Pieces{"  \n", " ", " x"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "\n \t"), (Pieces{"\n", " \t"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "x\r\n"), (Pieces{"x", "\r\n"}));
}

TEST(SplitPatternLlama3, UnicodeLettersAndInvalidBytes) {
  EXPECT_EQ(split(SplitPattern::Llama3, "perch\xC3\xA9 \xC3\xA8 gi\xC3\xA0"),
            (Pieces{"perch\xC3\xA9", " \xC3\xA8", " gi\xC3\xA0"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "\xE6\x97\xA5\xE6\x9C\xAC"), (Pieces{"\xE6\x97\xA5\xE6\x9C\xAC"}));
  // An invalid byte is a character of no class: it prefixes the next word.
  EXPECT_EQ(split(SplitPattern::Llama3,
                  "a\xFF"
                  "b"),
            (Pieces{"a",
                    "\xFF"
                    "b"}));
  EXPECT_EQ(split(SplitPattern::Llama3, "\xF0\x9F"), (Pieces{"\xF0\x9F"}));
  // U+00A0 (no-break space) is \s.
  EXPECT_EQ(split(SplitPattern::Llama3,
                  "a\xC2\xA0\xC2\xA0"
                  "b"),
            (Pieces{"a", "\xC2\xA0",
                    "\xC2\xA0"
                    "b"}));
}

TEST(SplitPatternGpt2, CaseSensitiveContractionsAndNumberRuns) {
  EXPECT_EQ(split(SplitPattern::Gpt2, "I'M"), (Pieces{"I", "'", "M"}));
  EXPECT_EQ(split(SplitPattern::Gpt2, "I'm"), (Pieces{"I", "'m"}));
  EXPECT_EQ(split(SplitPattern::Gpt2, "12345 678"), (Pieces{"12345", " 678"}));
  EXPECT_EQ(split(SplitPattern::Gpt2, "Hello  world!!"), (Pieces{"Hello", " ", " world", "!!"}));
  EXPECT_EQ(split(SplitPattern::Gpt2, "a\n\nb"), (Pieces{"a", "\n", "\n", "b"}));
  EXPECT_EQ(split(SplitPattern::Gpt2, "\tx"), (Pieces{"\t", "x"}));
}

TEST(SplitPatternQwen2, SingleDigits) {
  EXPECT_EQ(split(SplitPattern::Qwen2, "2024 ok"), (Pieces{"2", "0", "2", "4", " ok"}));
}

TEST(SplitPattern, RecognisesRegexesAndGgufNames) {
  EXPECT_EQ(
      split_pattern_from_regex(
          R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"),
      SplitPattern::Llama3);
  EXPECT_EQ(split_pattern_from_regex(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"),
            SplitPattern::Gpt2);
  EXPECT_EQ(split_pattern_from_regex("\\w+"), std::nullopt);
  EXPECT_EQ(split_pattern_from_gguf_pre("llama-bpe"), SplitPattern::Llama3);
  EXPECT_EQ(split_pattern_from_gguf_pre("qwen2"), SplitPattern::Qwen2);
  EXPECT_EQ(split_pattern_from_gguf_pre("gpt-2"), SplitPattern::Gpt2);
  EXPECT_EQ(split_pattern_from_gguf_pre("starcoder"), std::nullopt);
}

TEST(SplitPattern, PiecesCoverRandomTextExactly) {
  const std::vector<std::string> alphabet = {"a",
                                             "Z",
                                             "7",
                                             " ",
                                             " ",
                                             "\n",
                                             "\r",
                                             "\t",
                                             "'",
                                             "s",
                                             "!",
                                             ".",
                                             "\xC3\xA8",
                                             "\xE2\x80\x94",
                                             "\xF0\x9F\xA6\x99",
                                             "\xFF",
                                             "\xC2\xA0",
                                             "\xE6\x97\xA5",
                                             "\xD9\xA3" /* Arabic-Indic 3 */};
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int n = static_cast<int>(rng() % 24);
    for (int i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
    for (SplitPattern p : {SplitPattern::Gpt2, SplitPattern::Llama3, SplitPattern::Qwen2}) {
      std::string joined;
      for (const std::string& piece : split(p, text)) {
        ASSERT_FALSE(piece.empty());
        joined += piece;
      }
      ASSERT_EQ(joined, text) << split_pattern_name(p);
    }
  }
}

TEST(UnicodeTables, Classes) {
  EXPECT_TRUE(unicode_is_letter('a'));
  EXPECT_TRUE(unicode_is_letter(0x00E8));    // è
  EXPECT_TRUE(unicode_is_letter(0x65E5));    // 日
  EXPECT_TRUE(unicode_is_letter(0x1780));    // Khmer ka
  EXPECT_FALSE(unicode_is_letter(0x17B6));   // Khmer vowel sign (Mc), not L
  EXPECT_FALSE(unicode_is_letter(0x1F999));  // 🦙
  EXPECT_FALSE(unicode_is_letter(0xFFFD));
  EXPECT_TRUE(unicode_is_number('0'));
  EXPECT_TRUE(unicode_is_number(0x00BD));  // ½
  EXPECT_TRUE(unicode_is_number(0x0663));  // Arabic-Indic 3
  EXPECT_FALSE(unicode_is_number('a'));
  EXPECT_TRUE(unicode_is_whitespace(0x3000));
  EXPECT_TRUE(unicode_is_whitespace(0x0085));
  EXPECT_FALSE(unicode_is_whitespace(0x200B));  // zero-width space is not White_Space
  EXPECT_FALSE(unicode_is_whitespace(0x200D));
}

}  // namespace
}  // namespace officina
