#include "text/utf8.h"

#include <gtest/gtest.h>

#include "text/byte_level.h"

namespace officina {
namespace {

TEST(Utf8, DecodesAndRejectsMalformedSequences) {
  EXPECT_EQ(utf8_decode("\xC3\xA8", 0).code_point, 0xE8u);
  EXPECT_EQ(utf8_decode("\xF0\x9F\xA6\x99", 0).code_point, 0x1F999u);
  EXPECT_EQ(utf8_decode("\xF0\x9F\xA6\x99", 0).length, 4u);
  for (std::string_view bad :
       {"\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3", "\xE2\x82", "\xFF"}) {
    Utf8Char c = utf8_decode(bad, 0);
    EXPECT_FALSE(c.valid) << utf8_printable(bad);
    EXPECT_EQ(c.length, 1u);
  }
}

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_EQ(utf8_find_invalid("perch\xC3\xA9"), std::string_view::npos);
  EXPECT_EQ(utf8_find_invalid("ab\xC3(cd"), 2u);
  EXPECT_EQ(utf8_find_invalid("ok\xF0\x9F\xA6"), 2u);
  EXPECT_TRUE(utf8_is_valid(""));
}

TEST(Utf8, CompletePrefixHoldsOnlyUnfinishedCharacters) {
  EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
  EXPECT_EQ(utf8_complete_prefix("ab\xC3"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F\xA6"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F\xA6\x99"), 6u);
  EXPECT_EQ(utf8_complete_prefix("\xE2\x82"), 0u);
  // Bytes that can never complete a character are not held.
  EXPECT_EQ(utf8_complete_prefix("a\x80"), 2u);
  EXPECT_EQ(utf8_complete_prefix("a\xFF"), 2u);
  EXPECT_EQ(utf8_complete_prefix("a\xE0\x80"), 3u);  // overlong start
  EXPECT_EQ(utf8_complete_prefix("a\xC3"
                                 "b"),
            3u);
}

TEST(Utf8, SanitizeAndPrintable) {
  EXPECT_EQ(utf8_sanitize("a\xFF"
                          "b\xC3"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(utf8_printable("a\nb\t\x01\xFF\xC3\xA8"), "a\\nb\\t\\x01\\xff\xC3\xA8");
  EXPECT_EQ(utf8_printable(std::string(100, 'x'), 10), std::string(10, 'x') + "...");
}

TEST(ByteLevel, MapsEveryByteAndBack) {
  EXPECT_EQ(byte_level_char(' '), 0x120u);   // Ġ
  EXPECT_EQ(byte_level_char('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(byte_level_char('A'), static_cast<char32_t>('A'));
  EXPECT_EQ(byte_level_char(0xAD), 0x143u);  // the last remapped byte
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string mapped = byte_level_encode(all);
  EXPECT_TRUE(utf8_is_valid(mapped));
  EXPECT_EQ(byte_level_decode(mapped), all);
  EXPECT_EQ(byte_level_decode("\xC4\xA0world"), " world");
  EXPECT_EQ(byte_level_decode("\xE2\x96\x81"), std::nullopt);  // ▁ is not a mapped byte
}

}  // namespace
}  // namespace officina
