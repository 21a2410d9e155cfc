// Loading models: architecture parameters from GGUF and config.json, and the
// errors for files that are not what they claim.
#include <fstream>

#include "formats/gguf_writer.h"
#include "model/model.h"
#include "model/rope_layout.h"
#include "tensor/ops.h"
#include "model_test_util.h"

namespace officina {
namespace {

using test::conformance_path;
using test::TempDir;

TEST(ModelLoad, ReadsTheConformanceArchitectures) {
  auto mha = Model::load(conformance_path("models/tiny-mha.gguf"));
  ASSERT_TRUE(mha) << mha.error().message;
  const ModelConfig& a = (*mha)->config();
  EXPECT_EQ(a.dim, 64);
  EXPECT_EQ(a.n_layers, 2);
  EXPECT_EQ(a.n_heads, 4);
  EXPECT_EQ(a.n_kv_heads, 4);
  EXPECT_EQ(a.ffn_dim, 172);
  EXPECT_TRUE(a.tied_embeddings);
  EXPECT_EQ((*mha)->weights().output.data, (*mha)->weights().token_embd.data);

  auto gqa = Model::load(conformance_path("models/tiny-gqa.gguf"));
  auto hf = Model::load(conformance_path("models/tiny-gqa-hf"));
  ASSERT_TRUE(gqa) << gqa.error().message;
  ASSERT_TRUE(hf) << hf.error().message;
  for (const ModelConfig* c : {&(*gqa)->config(), &(*hf)->config()}) {
    EXPECT_EQ(c->dim, 96);
    EXPECT_EQ(c->n_layers, 3);
    EXPECT_EQ(c->n_heads, 6);
    EXPECT_EQ(c->n_kv_heads, 2);
    EXPECT_EQ(c->head_dim, 16);
    EXPECT_EQ(c->ffn_dim, 256);
    EXPECT_DOUBLE_EQ(c->rope_theta, 1e6);
    EXPECT_NEAR(c->rms_eps, 1e-6, 1e-12);
    EXPECT_FALSE(c->tied_embeddings);
    EXPECT_EQ(c->vocab_size, 32000);
  }
  EXPECT_EQ((*gqa)->weights().token_embd.dtype, DType::F16);
  EXPECT_EQ((*gqa)->name(), "tiny-gqa");
  EXPECT_EQ((*hf)->name(), "tiny-gqa-hf");
}

TEST(ModelLoad, HfConfigVariants) {
  Json base = {{"model_type", "mistral"}, {"hidden_size", 240}, {"num_hidden_layers", 2},
               {"num_attention_heads", 3}, {"num_key_value_heads", 1}, {"head_dim", 80},
               {"intermediate_size", 512}, {"vocab_size", 100}, {"sliding_window", 2048},
               {"rope_theta", 1e6}, {"tie_word_embeddings", true}};
  auto c = model_config_from_hf(base, "config.json");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->head_dim, 80);  // Minerva-3B style head_dim != dim / heads
  EXPECT_EQ(c->sliding_window, 2048);
  EXPECT_EQ(c->n_kv_heads, 1);  // MQA
  EXPECT_TRUE(c->tied_embeddings);
  auto expect_error = [&](Json j, std::string_view text) {
    auto r = model_config_from_hf(j, "dir/config.json");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("dir/config.json"), std::string::npos) << r.error().message;
  };
  Json j = base;
  j["model_type"] = "falcon";
  expect_error(j, "falcon");
  j = base;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  expect_error(j, "rope_scaling");
  j = base;
  j["num_key_value_heads"] = 2;
  expect_error(j, "multiple of kv heads");
  j = base;
  j["hidden_act"] = "gelu";
  expect_error(j, "gelu");
  j = base;
  j["attention_bias"] = true;
  expect_error(j, "attention_bias");
  j = base;
  j.erase("hidden_size");
  expect_error(j, "hidden_size");
  j = base;
  j["hidden_size"] = "big";
  expect_error(j, "hidden_size");
  j = base;
  j["num_hidden_layers"] = -1;
  expect_error(j, "layers");
}

// Writes tiny-mha.gguf again with one change and returns the load error.
std::string load_error_after(const std::function<void(GgufWriter&, const GgufFile&)>& change) {
  auto src = GgufFile::open(conformance_path("models/tiny-mha.gguf"));
  EXPECT_TRUE(src);
  GgufWriter w;
  w.copy_metadata(*src);
  change(w, *src);
  TempDir dir;
  std::string path = dir.path("changed.gguf");
  auto ok = w.write(path);
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
  auto m = Model::load(path);
  if (m) return "";
  EXPECT_NE(m.error().message.find("changed.gguf"), std::string::npos) << m.error().message;
  return m.error().message;
}

void add_all_except(GgufWriter& w, const GgufFile& src, std::string_view skip) {
  for (const auto& t : src.tensors())
    if (t.name != skip) {
      ASSERT_TRUE(w.add_tensor(t.name, t.view));
    }
}

TEST(ModelLoad, BadGgufModelsAreRefusedWithThePlace) {
  EXPECT_NE(load_error_after([](GgufWriter& w, const GgufFile& s) { add_all_except(w, s, "blk.1.ffn_up.weight"); })
                .find("missing tensor 'blk.1.ffn_up.weight'"),
            std::string::npos);
  // A tensor of the wrong shape.
  std::string e = load_error_after([](GgufWriter& w, const GgufFile& s) {
    for (const auto& t : s.tensors()) {
      if (t.name == "blk.0.attn_k.weight") {
        std::vector<int64_t> shape = {32, 64};
        ASSERT_TRUE(w.add_tensor(t.name, DType::F32, shape, std::span(t.view.data, 32 * 64 * 4)));
      } else {
        ASSERT_TRUE(w.add_tensor(t.name, t.view));
      }
    }
  });
  EXPECT_NE(e.find("'blk.0.attn_k.weight' has shape [32, 64], expected [64, 64]"), std::string::npos) << e;
  e = load_error_after([](GgufWriter& w, const GgufFile& s) {
    w.set("general.architecture", GgufValue::string("gpt2"));
    add_all_except(w, s, "");
  });
  EXPECT_NE(e.find("architecture 'gpt2' is not supported"), std::string::npos) << e;
  e = load_error_after([](GgufWriter& w, const GgufFile& s) {
    w.remove("llama.embedding_length");
    add_all_except(w, s, "");
  });
  EXPECT_NE(e.find("llama.embedding_length"), std::string::npos) << e;
  e = load_error_after([](GgufWriter& w, const GgufFile& s) {
    w.set("llama.rope.scaling.type", GgufValue::string("yarn"));
    add_all_except(w, s, "");
  });
  EXPECT_NE(e.find("rope scaling 'yarn' is not supported"), std::string::npos) << e;
  e = load_error_after([](GgufWriter& w, const GgufFile& s) {
    w.set("llama.attention.head_count", GgufValue::string("four"));
    add_all_except(w, s, "");
  });
  EXPECT_NE(e.find("llama.attention.head_count"), std::string::npos) << e;
  e = load_error_after([](GgufWriter& w, const GgufFile& s) {
    w.set("llama.attention.head_count_kv", GgufValue::u32(3));
    add_all_except(w, s, "");
  });
  EXPECT_NE(e.find("kv heads"), std::string::npos) << e;
}

TEST(ModelLoad, HfDirectoryErrors) {
  TempDir dir;
  std::filesystem::copy(conformance_path("models/tiny-gqa-hf"), dir.path("hf"));
  std::filesystem::permissions(dir.path("hf"), std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
  for (auto& f : std::filesystem::directory_iterator(dir.path("hf")))
    std::filesystem::permissions(f.path(), std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
  std::filesystem::remove(dir.path("hf/tokenizer.json"));
  auto m = Model::load(dir.path("hf"));
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("tokenizer.json"), std::string::npos) << m.error().message;
  std::filesystem::remove(dir.path("hf/model.safetensors"));
  m = Model::load(dir.path("hf"));
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("safetensors"), std::string::npos) << m.error().message;
  m = Model::load(dir.path("nowhere"));
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("nowhere"), std::string::npos);
}

TEST(RopeLayout, PermutationMatchesTheTwoRopeConventions) {
  // Rotating HF-ordered rows with rope_half equals rotating the permuted rows
  // with rope_interleaved, then permuting.
  const int64_t heads = 2, d = 8;
  auto src = rope_rows_hf_to_gguf(heads, d);
  std::vector<int64_t> sorted = src;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < heads * d; ++i) EXPECT_EQ(sorted[i], i);  // a permutation
  EXPECT_EQ(src[1], 4);  // GGUF row 1 (pair 0, second) is HF row d/2
  std::vector<std::byte> rows(heads * d);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = std::byte(i);
  auto there = permute_rows_hf_to_gguf(rows, 1, heads, d);
  auto back = permute_rows_gguf_to_hf(there, 1, heads, d);
  EXPECT_EQ(back, rows);
  // q = W x: permuting W's rows permutes q the same way.
  std::vector<float> q_hf(heads * d);
  for (size_t i = 0; i < q_hf.size(); ++i) q_hf[i] = std::sin(1.0f + i);
  std::vector<float> q_gguf(q_hf.size());
  for (size_t r = 0; r < src.size(); ++r) q_gguf[r] = q_hf[src[r]];
  for (int64_t h = 0; h < heads; ++h) {
    rope_half(&q_hf[h * d], d, 7, 10000.0f);
    rope_interleaved(&q_gguf[h * d], d, 7, 10000.0f);
  }
  for (size_t r = 0; r < src.size(); ++r) EXPECT_NEAR(q_gguf[r], q_hf[src[r]], 1e-6);
}

}  // namespace
}  // namespace officina
