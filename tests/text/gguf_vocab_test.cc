// The GGUF loaders on vocabularies built in memory: byte-level "gpt2"
// (merges by rank, tokenizer.ggml.pre, CONTROL / USER_DEFINED tokens) and
// the errors bad metadata must give.
#include "text_test_util.h"

namespace officina::test {
namespace {

using Ids = std::vector<int32_t>;
using Metadata = std::vector<std::pair<std::string, GgufValue>>;

Result<Tokenizer> load(const Metadata& metadata) {
  OFFICINA_TRY(GgufInMemory gguf, gguf_from_metadata(metadata, "vocab.gguf"));
  return Tokenizer::from_gguf(*gguf.file);
}

void set_key(Metadata& metadata, const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata)
    if (k == key) {
      v = std::move(value);
      return;
    }
  metadata.emplace_back(key, std::move(value));
}

void remove_key(Metadata& metadata, const std::string& key) {
  std::erase_if(metadata, [&](const auto& kv) { return kv.first == key; });
}

GgufArray& array_of(Metadata& metadata, const std::string& key) {
  for (auto& [k, v] : metadata)
    if (k == key) return std::get<GgufArray>(v.value);
  throw std::runtime_error("no " + key);
}

TEST(GgufGpt2Vocabulary, MergesByRank) {
  for (const char* pre : {"llama-bpe", "gpt-2"}) {
    auto t = load(tiny_gpt2_gguf_metadata(pre));
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->kind(), TokenizerKind::ByteLevelBpe);
    EXPECT_EQ(t->vocab_size(), 268);
    EXPECT_EQ(t->encode("hello world", false), (Ids{259, 264})) << pre;
    EXPECT_EQ(t->encode("hell", false), (Ids{258})) << pre;
    EXPECT_EQ(t->encode("hel", false), (Ids{256, 'l'})) << pre;
    EXPECT_EQ(t->encode("hello world", true), (Ids{267, 259, 264})) << pre;
    EXPECT_EQ(t->encode("\n", false), (Ids{'\n'})) << pre;
    EXPECT_EQ(t->decode(Ids{259, 264}), "hello world");
    EXPECT_EQ(t->token_bytes(260), " w");
    EXPECT_EQ(t->token_text(260), "\xC4\xA0w");
  }
}

TEST(GgufGpt2Vocabulary, ControlTokensOnlyWithParseSpecialUserDefinedAlways) {
  auto t = load(tiny_gpt2_gguf_metadata());
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->encode("hello world<|eot_id|>", false, true), (Ids{259, 264, 265}));
  // Without parse_special the text is split by the Llama-3 pattern and
  // spelled in bytes ("<|", "eot", "_id", "|>").
  EXPECT_EQ(t->encode("hello<|eot_id|>", false, false), (Ids{259, '<', '|', 'e', 'o', 't', '_', 'i', 'd', '|', '>'}));
  EXPECT_EQ(t->encode("a<tool>b", false, false), (Ids{'a', 266, 'b'}));
  EXPECT_EQ(t->encode("a<tool>b", false, true), (Ids{'a', 266, 'b'}));
  EXPECT_TRUE(t->is_end_of_generation(265));
  EXPECT_FALSE(t->is_end_of_generation(267));
  EXPECT_FALSE(t->is_end_of_generation(259));
  EXPECT_EQ(t->bos_id(), 267);
  EXPECT_EQ(t->eos_id(), -1);
  EXPECT_TRUE(t->add_bos_default());
  EXPECT_EQ(t->decode(Ids{267, 259, 265}, true), "hello");
  EXPECT_EQ(t->decode(Ids{267, 259, 265}, false), "<|begin_of_text|>hello<|eot_id|>");
  EXPECT_EQ(t->decode(Ids{259, 266}, true), "hello<tool>");  // user-defined tokens are text
}

TEST(GgufGpt2Vocabulary, ExportRoundTrips) {
  auto t = load(tiny_gpt2_gguf_metadata());
  ASSERT_TRUE(t) << t.error().message;
  auto metadata = t->gguf_metadata();
  ASSERT_TRUE(metadata) << metadata.error().message;
  auto again = load(*metadata);
  ASSERT_TRUE(again) << again.error().message;
  for (std::string s : {"hello world", "hello<|eot_id|> world\n\n", "x<tool>y"})
    EXPECT_EQ(again->encode(s, true), t->encode(s, true)) << s;
}

void expect_error(const Metadata& metadata, const std::vector<std::string>& parts) {
  auto t = load(metadata);
  ASSERT_FALSE(t) << "expected an error containing " << parts.front();
  const std::string& m = t.error().message;
  EXPECT_TRUE(m.starts_with("vocab.gguf: ")) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' not in: " << m;
}

TEST(GgufVocabularyErrors, NameTheKeyAndTheProblem) {
  Metadata m = tiny_gpt2_gguf_metadata();
  set_key(m, "tokenizer.ggml.model", GgufValue::string("wordpiece"));
  expect_error(m, {"tokenizer.ggml.model", "unknown tokenizer model", "wordpiece"});

  m = tiny_gpt2_gguf_metadata();
  set_key(m, "tokenizer.ggml.model", GgufValue::string("bert"));
  expect_error(m, {"tokenizer.ggml.model", "not supported"});

  m = tiny_gpt2_gguf_metadata();
  remove_key(m, "tokenizer.ggml.model");
  expect_error(m, {"tokenizer.ggml.model"});

  m = tiny_gpt2_gguf_metadata();
  remove_key(m, "tokenizer.ggml.tokens");
  expect_error(m, {"tokenizer.ggml.tokens"});

  m = tiny_gpt2_gguf_metadata();
  array_of(m, "tokenizer.ggml.tokens").items[259] = GgufValue::string("hel\xFFlo");
  expect_error(m, {"tokenizer.ggml.tokens[259]", "invalid UTF-8", "hel\\xfflo"});

  m = tiny_gpt2_gguf_metadata();
  array_of(m, "tokenizer.ggml.merges").items[2] = GgufValue::string("he zz");
  expect_error(m, {"tokenizer.ggml.merges[2]", "unknown token 'zz'"});

  m = tiny_gpt2_gguf_metadata();
  array_of(m, "tokenizer.ggml.merges").items[2] = GgufValue::string("h l");
  expect_error(m, {"tokenizer.ggml.merges[2]", "merged token 'hl' is not in the vocabulary"});

  m = tiny_gpt2_gguf_metadata();
  array_of(m, "tokenizer.ggml.merges").items[0] = GgufValue::string("he");
  expect_error(m, {"tokenizer.ggml.merges[0]", "expected \"left right\""});

  m = tiny_gpt2_gguf_metadata();
  set_key(m, "tokenizer.ggml.bos_token_id", GgufValue::u32(5000));
  expect_error(m, {"tokenizer.ggml.bos_token_id", "5000", "outside the vocabulary"});

  m = tiny_gpt2_gguf_metadata();
  array_of(m, "tokenizer.ggml.token_type").items.pop_back();
  expect_error(m, {"tokenizer.ggml.token_type", "267 entries, expected 268"});

  m = tiny_gpt2_gguf_metadata();
  array_of(m, "tokenizer.ggml.token_type").items[7] = GgufValue::i32(42);
  expect_error(m, {"tokenizer.ggml.token_type[7]", "unknown token type 42"});

  m = tiny_gpt2_gguf_metadata("starcoder");
  expect_error(m, {"tokenizer.ggml.pre", "starcoder", "llama-bpe"});

  m = tiny_gpt2_gguf_metadata();
  set_key(m, "tokenizer.ggml.model", GgufValue::string("llama"));
  expect_error(m, {"tokenizer.ggml.scores", "missing"});
}

}  // namespace
}  // namespace officina::test
