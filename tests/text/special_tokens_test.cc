// Added and special tokens: matched before the BPE, longest first, special
// ones only with parse_special; lstrip/rstrip/single_word; BOS from the
// post-processor; decode's skip_special.
#include "text_test_util.h"

namespace officina::test {
namespace {

using Ids = std::vector<int32_t>;

Tokenizer tiny_spm() {
  auto t = Tokenizer::from_json_text(tiny_spm_tokenizer_json().dump(), "tiny/tokenizer.json");
  EXPECT_TRUE(t) << t.error().message;
  return std::move(*t);
}

TEST(AddedTokens, TinyVocabularyBasics) {
  Tokenizer t = tiny_spm();
  EXPECT_EQ(t.kind(), TokenizerKind::SentencePieceBpe);
  EXPECT_EQ(t.vocab_size(), 268);
  EXPECT_EQ(t.encode("hi", false), (Ids{263}));
  EXPECT_EQ(t.encode("hi", true), (Ids{1, 263}));  // TemplateProcessing puts <s> first
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);  // no config: found by name
  EXPECT_TRUE(t.add_bos_default());
  EXPECT_EQ(t.encode("hi hi", false), (Ids{263, 263}));
  // Byte fallback for characters outside the vocabulary: 'a' = 0x61.
  EXPECT_EQ(t.encode("a", false), (Ids{259, 3 + 0x61}));
  EXPECT_EQ(t.encode("", true), (Ids{1}));
}

TEST(AddedTokens, NonSpecialTokensMatchEvenWithoutParseSpecial) {
  Tokenizer t = tiny_spm();
  // Text after an added token is a new segment: the "▁" prefix applies to it.
  EXPECT_EQ(t.encode("hi<tool>hi", false, false), (Ids{263, 265, 263}));
  EXPECT_EQ(t.encode("hi<tool>hi", false, true), (Ids{263, 265, 263}));
}

TEST(AddedTokens, SpecialTokensOnlyWithParseSpecial) {
  Tokenizer t = tiny_spm();
  EXPECT_EQ(t.encode("hi</s>", false, true), (Ids{263, 2}));
  const Ids literal = t.encode("hi</s>", false, false);
  EXPECT_EQ(std::count(literal.begin(), literal.end(), 2), 0) << describe(literal);
  EXPECT_EQ(t.decode(literal), "hi</s>");
}

TEST(AddedTokens, LstripAndRstripAbsorbSpaces) {
  Tokenizer t = tiny_spm();
  EXPECT_EQ(t.encode("hi <mask> hi", false, true), (Ids{263, 266, 263}));
  EXPECT_EQ(t.encode("hi<mask>hi", false, true), (Ids{263, 266, 263}));
  const Ids literal = t.encode("hi <mask> hi", false, false);
  EXPECT_EQ(std::count(literal.begin(), literal.end(), 266), 0);
}

TEST(AddedTokens, SingleWordNeedsWordBoundaries) {
  Tokenizer t = tiny_spm();
  EXPECT_EQ(t.encode("xx hi", false), (Ids{267, 259, 263}));
  // Inside a word "xx" is plain text: ▁, a, x, x as bytes.
  EXPECT_EQ(t.encode("axx", false), (Ids{259, 3 + 'a', 3 + 'x', 3 + 'x'}));
}

TEST(AddedTokens, DecodeSkipsSpecialTokensOnRequest) {
  Tokenizer t = tiny_spm();
  const Ids ids = {1, 263, 266, 263, 265};
  EXPECT_EQ(t.decode(ids, true), "hi hi<tool>");
  EXPECT_EQ(t.decode(ids, false), "<s> hi<mask> hi<tool>");
}

TEST(AddedTokens, LongestMatchWins) {
  nlohmann::json j = tiny_spm_tokenizer_json();
  j["model"]["vocab"]["<t>"] = 268;  // placeholder ids for two overlapping tokens
  j["added_tokens"].push_back({{"id", 268}, {"content", "<t>"}, {"special", true}});
  j["added_tokens"].push_back({{"id", 269}, {"content", "<t>>"}, {"special", true}});
  auto t = Tokenizer::from_json_text(j.dump(), "overlap/tokenizer.json");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->encode("<t>><t>", false), (Ids{269, 268}));
}

TEST(SpecialTokens, LlamaSpmBothSourcesAgree) {
  std::string why;
  const Tokenizer* gguf = llama_spm_from_gguf(&why);
  ASSERT_NE(gguf, nullptr) << why;
  const Tokenizer* json = llama_spm_from_json(&why);
  ASSERT_NE(json, nullptr) << why;
  EXPECT_EQ(gguf->encode("<s>Hello</s>", false, true), (Ids{1, 15043, 2}));
  for (const char* text : {"<s>Hello</s>", "Hello <s> world</s>\n", "<unk>x", "a</s>b"}) {
    for (bool parse_special : {true, false}) {
      EXPECT_EQ(gguf->encode(text, true, parse_special), json->encode(text, true, parse_special))
          << text << " parse_special=" << parse_special;
    }
    const Ids literal = gguf->encode(text, false, false);
    for (int32_t id : literal) EXPECT_FALSE(gguf->is_special(id)) << text;
    EXPECT_EQ(gguf->decode(literal), text);
  }
}

TEST(SpecialTokens, Llama3ChatHeaders) {
  std::string why;
  const Tokenizer* t = llama3_from_json(&why);
  if (t == nullptr) {
    if (llama3_tokenizer_location().required) FAIL() << why;
    GTEST_SKIP() << why;
  }
  const std::string text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  const Ids ids = t->encode(text, false, true);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids.front(), 128006);
  EXPECT_EQ(ids[1], 882);  // "user"
  EXPECT_EQ(ids[2], 128007);
  EXPECT_EQ(ids[3], 271);  // "\n\n"
  EXPECT_EQ(ids.back(), 128009);
  EXPECT_EQ(t->decode(ids, false), text);
  EXPECT_EQ(t->decode(ids, true), "user\n\nHi");
  const Ids literal = t->encode(text, false, false);
  for (int32_t id : literal) EXPECT_LT(id, 128000);
  EXPECT_EQ(t->decode(literal), text);
}

TEST(Tokenizer, LongInputsRoundTrip) {
  // Far from quadratic: a SentencePiece vocabulary BPEs the whole text as
  // one word. (Speed itself is measured by benchmarks, not here.)
  std::string text;
  const std::string chunk =
      "La manutenzione predittiva della pressa n\xC2\xB0"
      "3 \xC3\xA8 prevista per luned\xC3\xAC alle 06:30. "
      "\xF0\x9F\x8F\xAD\xE2\x9A\x99\xEF\xB8\x8F 1234567890\n\t ";
  while (text.size() < 200000) text += chunk;
  std::string why;
  const Tokenizer* spm = llama_spm_from_gguf(&why);
  ASSERT_NE(spm, nullptr) << why;
  const Ids ids = spm->encode(text, true);
  EXPECT_GT(ids.size(), text.size() / 8);
  EXPECT_EQ(spm->decode(ids), text);
  std::string one_word(100000, 'a');
  EXPECT_EQ(spm->decode(spm->encode(one_word, false)), one_word);
}

}  // namespace
}  // namespace officina::test
