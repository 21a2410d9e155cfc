// The conformance tokenizers shared by the text tests (see text_test_util.h).
#include "text_test_util.h"

namespace officina::test {

namespace {

struct Loaded {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string error;
};

const Tokenizer* get(Loaded& loaded, std::string* why) {
  if (!loaded.tokenizer && why) *why = loaded.error;
  return loaded.tokenizer.get();
}

Loaded from_result(Result<Tokenizer> r) {
  Loaded out;
  if (r)
    out.tokenizer = std::make_unique<Tokenizer>(std::move(*r));
  else
    out.error = r.error().message;
  return out;
}

}  // namespace

const Tokenizer* llama_spm_from_gguf(std::string* why) {
  static Loaded loaded = [] {
    auto file = GgufFile::open(conformance_path("models/tiny-gqa.gguf"));
    if (!file) return Loaded{nullptr, file.error().message};
    return from_result(Tokenizer::from_gguf(*file));
  }();
  return get(loaded, why);
}

const Tokenizer* llama_spm_from_json(std::string* why) {
  static Loaded loaded =
      from_result(Tokenizer::from_json_files(conformance_path("models/tiny-gqa-hf/tokenizer.json"),
                                             conformance_path("models/tiny-gqa-hf/tokenizer_config.json")));
  return get(loaded, why);
}

const Tokenizer* llama3_from_json(std::string* why) {
  static Loaded loaded = [] {
    const Llama3Location where = llama3_tokenizer_location();
    if (!std::filesystem::exists(where.path))
      return Loaded{nullptr, where.path + " is missing; run scripts/fetch-test-tokenizers.sh"};
    return from_result(Tokenizer::from_json_files(where.path));
  }();
  return get(loaded, why);
}

}  // namespace officina::test

#include "text/byte_level.h"

namespace officina::test {

std::vector<std::pair<std::string, GgufValue>> tiny_gpt2_gguf_metadata(const std::string& pre) {
  std::vector<GgufValue> tokens, types;
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(GgufValue::string(byte_level_encode(std::string(1, static_cast<char>(b)))));
    types.push_back(GgufValue::i32(1));
  }
  const std::vector<std::string> merged = {"he", "ll",          "hell", "hello",        "\xC4\xA0w",
                                           "or", "\xC4\xA0wor", "ld",   "\xC4\xA0world"};
  for (const std::string& t : merged) {
    tokens.push_back(GgufValue::string(t));
    types.push_back(GgufValue::i32(1));
  }
  tokens.push_back(GgufValue::string("<|eot_id|>"));
  types.push_back(GgufValue::i32(3));
  tokens.push_back(GgufValue::string("<tool>"));
  types.push_back(GgufValue::i32(4));
  tokens.push_back(GgufValue::string("<|begin_of_text|>"));
  types.push_back(GgufValue::i32(3));
  std::vector<GgufValue> merges;
  for (const char* m : {"h e", "l l", "he ll", "hell o", "\xC4\xA0 w", "o r", "\xC4\xA0w or", "l d", "\xC4\xA0wor ld"})
    merges.push_back(GgufValue::string(m));
  return {
      {"tokenizer.ggml.model", GgufValue::string("gpt2")},
      {"tokenizer.ggml.pre", GgufValue::string(pre)},
      {"tokenizer.ggml.tokens", GgufValue::array(GgufType::STRING, std::move(tokens))},
      {"tokenizer.ggml.token_type", GgufValue::array(GgufType::INT32, std::move(types))},
      {"tokenizer.ggml.merges", GgufValue::array(GgufType::STRING, std::move(merges))},
      {"tokenizer.ggml.bos_token_id", GgufValue::u32(267)},
      {"tokenizer.ggml.eot_token_id", GgufValue::u32(265)},
      {"tokenizer.ggml.add_bos_token", GgufValue::boolean(true)},
  };
}

}  // namespace officina::test
