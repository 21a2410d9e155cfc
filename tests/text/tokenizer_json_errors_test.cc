// Bad tokenizer.json / tokenizer_config.json files: one-line errors that
// name the file, the JSON path and the problem; never a crash.
#include "text_test_util.h"

namespace officina::test {
namespace {

std::string error_of(std::string_view text, std::string_view config = "") {
  auto t = Tokenizer::from_json_text(text, "bad/tokenizer.json", config);
  if (t) return "(loaded)";
  return t.error().message;
}

void expect_error(std::string_view text, const std::vector<std::string>& parts, std::string_view config = "") {
  const std::string m = error_of(text, config);
  EXPECT_TRUE(m.starts_with("bad/tokenizer")) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' not in: " << m;
}

TEST(TokenizerJsonErrors, TruncatedJson) {
  const std::string full = tiny_spm_tokenizer_json().dump();
  for (size_t cut : {size_t{0}, size_t{1}, full.size() / 3, full.size() / 2, full.size() - 1})
    expect_error(full.substr(0, cut), {"bad/tokenizer.json: invalid JSON at byte"});
  // The real file, cut in the middle of the vocabulary.
  const std::string real = read_file_or_empty(conformance_path("models/tiny-gqa-hf/tokenizer.json"));
  ASSERT_GT(real.size(), 1000u);
  expect_error(real.substr(0, real.size() / 2), {"invalid JSON"});
}

TEST(TokenizerJsonErrors, InvalidUtf8InTheVocabulary) {
  std::string text = tiny_spm_tokenizer_json().dump(1);
  const size_t at = text.find("\"hi\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at + 1, 2, "h\xFF");
  expect_error(text, {"bad/tokenizer.json: invalid UTF-8 at byte " + std::to_string(at + 2), "(line "});
}

TEST(TokenizerJsonErrors, ModelTypes) {
  nlohmann::json j = tiny_spm_tokenizer_json();
  j["model"]["type"] = "Fancy";
  expect_error(j.dump(), {"model.type", "unknown model type 'Fancy'"});
  j["model"]["type"] = "Unigram";
  expect_error(j.dump(), {"model.type", "'Unigram' is not supported"});
  j["model"]["type"] = 7;
  expect_error(j.dump(), {"model.type", "expected a string"});
  j.erase("model");
  expect_error(j.dump(), {"model", "missing"});
  expect_error("[1, 2]", {"expected a JSON object"});
}

TEST(TokenizerJsonErrors, MissingOrMalformedVocabulary) {
  nlohmann::json j = tiny_spm_tokenizer_json();
  j["model"].erase("vocab");
  expect_error(j.dump(), {"model.vocab", "missing vocab"});
  j["model"]["vocab"] = nlohmann::json::array();
  expect_error(j.dump(), {"model.vocab", "expected an object"});
  j["model"]["vocab"] = nlohmann::json::object();
  expect_error(j.dump(), {"model.vocab", "empty"});
  j = tiny_spm_tokenizer_json();
  j["model"]["vocab"]["dup"] = 260;
  expect_error(j.dump(), {"model.vocab", "id 260 is used by both"});
  j = tiny_spm_tokenizer_json();
  j["model"]["vocab"]["neg"] = -3;
  expect_error(j.dump(), {"model.vocab", "token 'neg'", "non-negative integer"});
  j = tiny_spm_tokenizer_json();
  j["model"]["vocab"]["far"] = 2000000000;
  expect_error(j.dump(), {"model.vocab", "far beyond"});
}

TEST(TokenizerJsonErrors, MergesWithUnknownTokens) {
  nlohmann::json j = tiny_spm_tokenizer_json();
  j["model"]["merges"][1] = "h zz";
  expect_error(j.dump(), {"model.merges[1]", "unknown token 'zz'"});
  j["model"]["merges"][1] = "qq h";
  expect_error(j.dump(), {"model.merges[1]", "unknown token 'qq'"});
  j["model"]["merges"][1] = "i h";
  expect_error(j.dump(), {"model.merges[1]", "merged token 'ih' is not in the vocabulary"});
  j["model"]["merges"][1] = "hi";
  expect_error(j.dump(), {"model.merges[1]", "expected \"left right\""});
  j["model"]["merges"][1] = nlohmann::json::array({"h", "i", "x"});
  expect_error(j.dump(), {"model.merges[1]", "expected two tokens"});
  // The newer two-element form is accepted.
  j["model"]["merges"][1] = nlohmann::json::array({"\xE2\x96\x81h", "i"});
  EXPECT_EQ(error_of(j.dump()), "(loaded)");
}

TEST(TokenizerJsonErrors, UnsupportedPipelineSteps) {
  nlohmann::json j = tiny_spm_tokenizer_json();
  j["normalizer"] = {{"type", "NFKC"}};
  expect_error(j.dump(), {"normalizer", "unsupported normalizer 'NFKC'"});
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", 3}}}}};
  expect_error(j.dump(), {"normalizer.normalizers[0].prepend", "expected a string"});
  j = tiny_spm_tokenizer_json();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\w+|\\d"}}}, {"behavior", "Isolated"}};
  expect_error(j.dump(), {"pre_tokenizer.pattern.Regex", "unsupported split regex"});
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error(j.dump(), {"pre_tokenizer", "unsupported pre-tokenizer 'Whitespace'"});
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", {{{"type", "Metaspace"}, {"prepend_scheme", "sometimes"}}}}};
  expect_error(j.dump(), {"pre_tokenizer.pretokenizers[0].prepend_scheme", "unknown prepend_scheme 'sometimes'"});
  // Hostile nesting is refused, not recursed into without bound.
  nlohmann::json nested = {{"type", "Prepend"}, {"prepend", "x"}};
  for (int i = 0; i < 100; ++i) nested = {{"type", "Sequence"}, {"normalizers", nlohmann::json::array({nested})}};
  j = tiny_spm_tokenizer_json();
  j["normalizer"] = nested;
  expect_error(j.dump(), {"normalizer.normalizers[0]", "nested too deeply"});
}

TEST(TokenizerJsonErrors, SpecialTokensThatAreNotInTheVocabulary) {
  nlohmann::json j = tiny_spm_tokenizer_json();
  j["model"]["unk_token"] = "<nope>";
  expect_error(j.dump(), {"model.unk_token", "'<nope>' is not in the vocabulary"});
  j = tiny_spm_tokenizer_json();
  j["added_tokens"][3]["content"] = "";
  expect_error(j.dump(), {"added_tokens[3].content", "empty token"});
  j = tiny_spm_tokenizer_json();
  j["added_tokens"][3]["id"] = "x";
  expect_error(j.dump(), {"added_tokens[3].id", "non-negative integer"});
  expect_error(tiny_spm_tokenizer_json().dump(),
               {"bad/tokenizer_config.json", "bos_token", "'<b>' is not in the vocabulary"},
               R"({"bos_token": {"content": "<b>"}})");
  expect_error(tiny_spm_tokenizer_json().dump(), {"bad/tokenizer_config.json", "invalid JSON"},
               "{\"add_bos_token\": tr");
  expect_error(tiny_spm_tokenizer_json().dump(), {"bad/tokenizer_config.json", "add_bos_token", "true or false"},
               R"({"add_bos_token": "yes"})");
}

TEST(TokenizerJsonErrors, ConfigOverridesBosSettings) {
  auto t =
      Tokenizer::from_json_text(tiny_spm_tokenizer_json().dump(), "tiny/tokenizer.json",
                                R"({"add_bos_token": false, "bos_token": "<s>", "eos_token": {"content": "</s>"}})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_FALSE(t->add_bos_default());
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
}

TEST(TokenizerJsonErrors, MissingFiles) {
  auto t = Tokenizer::from_json_files("/nonexistent/tokenizer.json");
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("/nonexistent/tokenizer.json"), std::string::npos) << t.error().message;
}

}  // namespace
}  // namespace officina::test
