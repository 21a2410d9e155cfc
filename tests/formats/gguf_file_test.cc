// Reads the conformance GGUF files and checks what llama.cpp wrote into them.
#include "formats/gguf_file.h"

#include <cstring>

#include <gtest/gtest.h>

#include "formats/gguf_writer.h"
#include "test_util.h"

namespace officina {
namespace {

using test::conformance_path;

GgufFile open_or_die(const std::string& relative) {
  auto file = GgufFile::open(conformance_path(relative));
  if (!file) ADD_FAILURE() << file.error().message;
  return std::move(file).value();
}

TEST(GgufFile, TinyGqaHeaderAndKeys) {
  GgufFile f = open_or_die("models/tiny-gqa.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.tensors().size(), 30u);  // embeddings, 3 x 9 per block, output_norm, output
  EXPECT_EQ(f.get_string("general.architecture").value(), "llama");
  EXPECT_EQ(f.get_int("llama.embedding_length").value(), 96);
  EXPECT_EQ(f.get_int("llama.block_count").value(), 3);
  EXPECT_EQ(f.get_int("llama.attention.head_count").value(), 6);
  EXPECT_EQ(f.get_int("llama.attention.head_count_kv").value(), 2);
  EXPECT_EQ(f.get_int("llama.feed_forward_length").value(), 256);
  EXPECT_DOUBLE_EQ(f.get_float("llama.rope.freq_base").value(), 1e6);
  EXPECT_NEAR(f.get_float("llama.attention.layer_norm_rms_epsilon").value(), 1e-6, 1e-12);
  EXPECT_EQ(f.get_int("tokenizer.ggml.bos_token_id").value(), 1);
  EXPECT_EQ(f.get_int_or("llama.no_such_key", 42).value(), 42);
  EXPECT_EQ(f.data_start() % 32, 0u);
}

TEST(GgufFile, TinyGqaVocabulary) {
  GgufFile f = open_or_die("models/tiny-gqa.gguf");
  const GgufArray* tokens = f.get_array("tokenizer.ggml.tokens").value();
  EXPECT_EQ(tokens->element_type, GgufType::STRING);
  ASSERT_EQ(tokens->items.size(), 32000u);
  EXPECT_EQ(tokens->items[0].as_string("t").value(), "<unk>");
  EXPECT_EQ(tokens->items[1].as_string("t").value(), "<s>");
  EXPECT_EQ(tokens->items[2].as_string("t").value(), "</s>");
  const GgufArray* scores = f.get_array("tokenizer.ggml.scores").value();
  EXPECT_EQ(scores->element_type, GgufType::FLOAT32);
  EXPECT_EQ(scores->items.size(), 32000u);
  const GgufArray* types = f.get_array("tokenizer.ggml.token_type").value();
  EXPECT_EQ(types->element_type, GgufType::INT32);
  EXPECT_EQ(types->items.size(), 32000u);
}

TEST(GgufFile, TinyGqaTensors) {
  GgufFile f = open_or_die("models/tiny-gqa.gguf");
  const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->view.dtype, DType::F16);
  EXPECT_EQ(embd->view.ndim, 2);
  EXPECT_EQ(embd->view.shape[0], 32000);  // row-major: [vocab, dim]
  EXPECT_EQ(embd->view.shape[1], 96);
  EXPECT_EQ(embd->view.bytes(), 32000u * 96 * 2);
  const GgufTensorInfo* k = f.find_tensor("blk.2.attn_k.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->view.dtype, DType::F32);
  EXPECT_EQ(shape_string(k->view), "[32, 96]");  // [kv_heads * head_dim, dim]
  const GgufTensorInfo* norm = f.find_tensor("output_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(shape_string(norm->view), "[96]");
  EXPECT_EQ(f.find_tensor("no.such.tensor"), nullptr);
  // Views point into the file, after the data section start, inside it.
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(t.offset % f.alignment(), 0u) << t.name;
    EXPECT_LE(f.data_start() + t.offset + t.view.bytes(), f.file_size()) << t.name;
  }
}

TEST(GgufFile, TinyMhaHasTiedEmbeddings) {
  GgufFile f = open_or_die("models/tiny-mha.gguf");
  EXPECT_EQ(f.get_int("llama.embedding_length").value(), 64);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("token_embd.weight")->view.dtype, DType::F32);
}

TEST(GgufFile, QuantizedTypes) {
  GgufFile q4k = open_or_die("models/small-256-Q4_K_M.gguf");
  bool saw_q4k = false, saw_q6k = false;
  for (const auto& t : q4k.tensors()) {
    saw_q4k |= t.view.dtype == DType::Q4_K;
    saw_q6k |= t.view.dtype == DType::Q6_K;
  }
  EXPECT_TRUE(saw_q4k);
  EXPECT_TRUE(saw_q6k);
  const GgufTensorInfo* embd = q4k.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->view.dtype, DType::Q4_K);
  EXPECT_EQ(shape_string(embd->view), "[32000, 256]");
  EXPECT_EQ(embd->view.bytes(), 32000u * 144);  // one 256-value block of 144 bytes per row

  GgufFile q8 = open_or_die("models/small-256-Q8_0.gguf");
  EXPECT_EQ(q8.find_tensor("blk.0.attn_q.weight")->view.dtype, DType::Q8_0);
  GgufFile q4 = open_or_die("models/small-256-Q4_0.gguf");
  EXPECT_EQ(q4.find_tensor("blk.0.attn_q.weight")->view.dtype, DType::Q4_0);
}

TEST(GgufFile, LoraAdapter) {
  GgufFile f = open_or_die("lora/tiny-gqa/adapter.gguf");
  EXPECT_EQ(f.get_string("general.type").value(), "adapter");
  EXPECT_DOUBLE_EQ(f.get_float("adapter.lora.alpha").value(), 8.0);
  const GgufTensorInfo* a = f.find_tensor("blk.0.attn_q.weight.lora_a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(shape_string(a->view), "[4, 96]");
}

TEST(GgufFile, TypedLookupErrorsNameFileAndKey) {
  GgufFile f = open_or_die("models/tiny-gqa.gguf");
  auto missing = f.get_int("llama.nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, f.where() + ": metadata 'llama.nope' missing");
  auto wrong = f.get_int("general.architecture");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message, f.where() + ": 'general.architecture' is a STRING, expected an integer");
  EXPECT_FALSE(f.get_float_or("general.name", 1.0));
}

// Rewriting a llama.cpp file through GgufWriter reproduces it byte for byte:
// same metadata encoding, tensor order, offsets and padding.
TEST(GgufFile, RewriteOfConformanceFilesIsByteIdentical) {
  for (const char* name : {"models/tiny-mha.gguf", "models/small-256-Q4_K_M.gguf", "lora/tiny-gqa/adapter.gguf"}) {
    GgufFile f = open_or_die(name);
    GgufWriter w;
    w.copy_metadata(f);
    for (const auto& t : f.tensors()) ASSERT_TRUE(w.add_tensor(t.name, t.view)) << t.name;
    auto bytes = w.to_bytes();
    ASSERT_TRUE(bytes) << bytes.error().message;
    auto original = MappedFile::open(conformance_path(name));
    ASSERT_TRUE(original);
    ASSERT_EQ(bytes->size(), original->size()) << name;
    EXPECT_EQ(std::memcmp(bytes->data(), original->data(), bytes->size()), 0) << name;
  }
}

TEST(GgufFile, MissingFileNamesPath) {
  auto f = GgufFile::open("/nonexistent/dir/model.gguf");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("/nonexistent/dir/model.gguf"), std::string::npos);
}

TEST(GgufFile, ViewsOutliveMovesAndCopies) {
  auto opened = GgufFile::open(conformance_path("lora/tiny-gqa/adapter.gguf"));
  ASSERT_TRUE(opened);
  GgufFile moved = std::move(*opened);
  GgufFile copy = moved;
  const TensorView& v = copy.find_tensor("blk.0.attn_q.weight.lora_a")->view;
  float first;
  std::memcpy(&first, v.data, sizeof first);
  EXPECT_TRUE(std::isfinite(first));
}

}  // namespace
}  // namespace officina
