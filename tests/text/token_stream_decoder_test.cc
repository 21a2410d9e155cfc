// TokenStreamDecoder: characters split across tokens are held until whole,
// the SentencePiece prefix space is dropped once, and what comes out equals
// decode() for valid text.
#include "text/byte_level.h"
#include "text/utf8.h"
#include "text_test_util.h"

namespace officina::test {
namespace {

using Ids = std::vector<int32_t>;

std::vector<std::string> stream(const Tokenizer& t, const Ids& ids, TokenStreamOptions options = {}) {
  TokenStreamDecoder decoder(t, options);
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(decoder.feed(id));
  out.push_back(decoder.flush());
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const std::string& p : parts) s += p;
  return s;
}

const Tokenizer& spm() {
  std::string why;
  const Tokenizer* t = llama_spm_from_gguf(&why);
  if (t == nullptr) throw std::runtime_error(why);
  return *t;
}

int32_t byte_token(int b) { return 3 + b; }  // Llama-2's <0x00> is id 3

TEST(TokenStreamDecoder, EmojiSplitAcrossByteTokens) {
  const Tokenizer& t = spm();
  const Ids ids = t.encode(" this is \xF0\x9F\xA6\x99.cpp", true);
  const auto parts = stream(t, ids);
  for (const std::string& p : parts) EXPECT_TRUE(utf8_is_valid(p)) << utf8_printable(p);
  EXPECT_EQ(joined(parts), t.decode(ids));
  // The four bytes of the llama come as four tokens; only the last emits.
  const auto llama = stream(t, {byte_token(0xF0), byte_token(0x9F), byte_token(0xA6), byte_token(0x99)});
  EXPECT_EQ(llama, (std::vector<std::string>{"", "", "", "\xF0\x9F\xA6\x99", ""}));
}

TEST(TokenStreamDecoder, ItalianAccents) {
  const std::string text = "perch\xC3\xA9 \xC3\xA8 gi\xC3\xA0";  // perché è già
  const Tokenizer& t = spm();
  const Ids ids = t.encode(text, true);
  const auto parts = stream(t, ids);
  for (const std::string& p : parts) EXPECT_TRUE(utf8_is_valid(p));
  EXPECT_EQ(joined(parts), text);
  // "gi" then the two bytes of "à" as byte-fallback tokens.
  const auto gi = t.token_id("\xE2\x96\x81gi");
  ASSERT_TRUE(gi);
  EXPECT_EQ(stream(t, {*gi, byte_token(0xC3), byte_token(0xA0)}), (std::vector<std::string>{"gi", "", "\xC3\xA0", ""}));
  // Without stripping, the first piece keeps its space.
  EXPECT_EQ(stream(t, {*gi}, {.skip_special = true, .strip_leading_space = false}),
            (std::vector<std::string>{" gi", ""}));
}

TEST(TokenStreamDecoder, ByteLevelSplitCharacters) {
  std::string why;
  const Tokenizer* t = llama3_from_json(&why);
  if (t == nullptr) {
    if (llama3_tokenizer_location().required) FAIL() << why;
    GTEST_SKIP() << why;
  }
  const std::string text =
      "Citt\xC3\xA0, pi\xC3\xB9, perci\xC3\xB2 \xF0\x9F\x98\xB6\xE2\x80\x8D\xF0\x9F\x8C\xAB\xEF\xB8\x8F";
  const Ids ids = t->encode(text, false);
  const auto parts = stream(*t, ids);
  for (const std::string& p : parts) EXPECT_TRUE(utf8_is_valid(p));
  EXPECT_EQ(joined(parts), text);
  // "è" as its two single-byte tokens.
  const auto c3 = t->token_id(byte_level_encode("\xC3"));
  const auto a8 = t->token_id(byte_level_encode("\xA8"));
  ASSERT_TRUE(c3 && a8);
  EXPECT_EQ(stream(*t, {*c3, *a8}), (std::vector<std::string>{"", "\xC3\xA8", ""}));
}

TEST(TokenStreamDecoder, InvalidBytesBecomeReplacementCharacters) {
  const Tokenizer& t = spm();
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(stream(t, {byte_token(0xFF)}), (std::vector<std::string>{fffd, ""}));
  // A lead byte followed by something that cannot continue it.
  const auto hi = t.token_id("\xE2\x96\x81hi");
  ASSERT_TRUE(hi);
  EXPECT_EQ(stream(t, {byte_token(0xC3), *hi}), (std::vector<std::string>{"", fffd + " hi", ""}));
  // An unfinished character at the end is flushed as replacement characters.
  EXPECT_EQ(stream(t, {byte_token(0xE2), byte_token(0x82)}), (std::vector<std::string>{"", "", fffd + fffd}));
}

TEST(TokenStreamDecoder, SpecialTokens) {
  const Tokenizer& t = spm();
  const auto hello = t.token_id("\xE2\x96\x81Hello");
  ASSERT_TRUE(hello);
  EXPECT_EQ(stream(t, {1, *hello, 2}), (std::vector<std::string>{"", "Hello", "", ""}));
  EXPECT_EQ(stream(t, {1, *hello, 2}, {.skip_special = false, .strip_leading_space = true}),
            (std::vector<std::string>{"<s>", " Hello", "</s>", ""}));
  EXPECT_EQ(stream(t, {-5, 99999}), (std::vector<std::string>{"", "", ""}));
}

}  // namespace
}  // namespace officina::test
