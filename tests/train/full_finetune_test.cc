// Full-parameter training end to end through run_finetune: pre-training a
// tiny random model (tokenizer of tiny-gqa) on a repeated text makes the
// loss fall and writes an F32 GGUF that loads with the source's tokenizer
// and gives the trained loss; a run stopped and resumed ends with the same
// model, byte for byte; a Hugging Face source and its GGUF conversion train
// to the same weights; non-F32 bases and LoRA-only options are refused.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "formats/gguf_file.h"
#include "formats/safetensors_file.h"
#include "tensor/quantize.h"
#include "model/gguf_export.h"
#include "model/random_model.h"
#include "test_util.h"
#include "train/finetune.h"
#include "train/train_checkpoint.h"
#include "train/lora_trainer.h"

namespace officina {
namespace {

const char* kText = "La pressa 3 vibra a 4.7 mm/s; la soglia di allarme resta 7.1 mm/s.";

// A random 2-layer model with tiny-gqa's tokenizer, written as F32 GGUF.
std::string write_scratch_model(const test::TempDir& dir, bool tied) {
  auto source = Model::load(test::conformance_path("models/tiny-gqa.gguf"));
  EXPECT_TRUE(source) << source.error().message;
  ModelConfig c;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.ffn_dim = 64;
  c.vocab_size = (*source)->config().vocab_size;
  c.context_length = 128;
  c.tied_embeddings = tied;
  auto random = make_random_model(c, 7);
  EXPECT_TRUE(random) << random.error().message;
  auto tokenizer = tokenizer_gguf_metadata(**source);
  EXPECT_TRUE(tokenizer);
  GgufExportOptions options;
  options.name = "scratch";
  const std::string path = dir.path(tied ? "scratch-tied.gguf" : "scratch.gguf");
  auto ok = write_llama_gguf(c, (*random)->weights, *tokenizer, options, path);
  EXPECT_TRUE(ok) << ok.error().message;
  return path;
}

FinetuneOptions pretrain_options(const test::TempDir& dir, const std::string& model, const std::string& out) {
  std::ofstream data(dir.path("text.jsonl"));
  for (int i = 0; i < 8; ++i) data << "{\"text\": \"" << kText << "\"}\n";
  data.close();
  FinetuneOptions o;
  o.model = model;
  o.data = dir.path("text.jsonl");
  o.out = dir.path(out);
  o.full = true;
  o.steps = 30;
  o.batch_size = 2;
  o.seq_len = 64;
  o.lr = 1e-2;
  o.threads = 1;
  o.progress = false;
  o.seed = 3;
  return o;
}

double text_loss(const Model& model) {
  TrainSequence s;
  s.tokens = model.tokenizer().encode(kText, true);
  s.targets.assign(s.tokens.size(), -1);
  for (size_t t = 0; t + 1 < s.tokens.size(); ++t) s.targets[t] = s.tokens[t + 1];
  LoraTrainer trainer(model, nullptr);
  auto r = trainer.evaluate(s);
  EXPECT_TRUE(r) << r.error().message;
  return r->loss_sum / static_cast<double>(r->targets);
}

TEST(FullFinetune, PretrainingATinyModelLowersTheLoss) {
  test::TempDir dir;
  for (bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    const std::string scratch = write_scratch_model(dir, tied);
    auto before = Model::load(scratch);
    ASSERT_TRUE(before) << before.error().message;
    const double initial = text_loss(**before);
    EXPECT_GT(initial, 9.0);  // about ln(32000) for random weights

    const FinetuneOptions o = pretrain_options(dir, scratch, tied ? "tied" : "untied");
    auto report = run_finetune(o);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->steps, 30);
    EXPECT_NEAR(report->first_loss, initial, 0.05 * initial);
    EXPECT_LT(report->last_loss, 0.3 * report->first_loss);

    auto after = Model::load(o.out + "/model.gguf");
    ASSERT_TRUE(after) << after.error().message;
    EXPECT_EQ((*after)->config().tied_embeddings, tied);
    EXPECT_EQ((*after)->weights().layers[0].wq.dtype, DType::F32);
    EXPECT_EQ((*after)->tokenizer().encode(kText, true), (*before)->tokenizer().encode(kText, true));
    EXPECT_LT(text_loss(**after), report->last_loss);  // one more update after the last reported loss
    auto gguf = GgufFile::open(o.out + "/model.gguf");
    ASSERT_TRUE(gguf);
    auto name = gguf->get_string("general.name");
    ASSERT_TRUE(name);
    EXPECT_EQ(*name, "scratch");
    auto file_type = gguf->get_int("general.file_type");
    ASSERT_TRUE(file_type);
    EXPECT_EQ(*file_type, 0);
    EXPECT_FALSE(std::filesystem::exists(o.out + "/adapter.gguf"));
  }
}

TEST(FullFinetune, ResumeEndsWithTheSameModel) {
  test::TempDir dir;
  const std::string scratch = write_scratch_model(dir, false);
  FinetuneOptions o = pretrain_options(dir, scratch, "whole");
  o.steps = 6;
  o.grad_accum = 2;
  o.weight_decay = 0.1;
  o.clip = 0.5;
  o.schedule = LrSchedule::Cosine;
  o.warmup = 2;
  o.save_every = 2;
  o.packing = false;
  ASSERT_TRUE(run_finetune(o));
  FinetuneOptions split = o;
  split.out = dir.path("split");
  split.stop_after = 3;
  ASSERT_TRUE(run_finetune(split));
  EXPECT_TRUE(std::filesystem::exists(split.out + "/checkpoint/state.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(split.out + "/model.gguf"));
  EXPECT_FALSE(std::filesystem::exists(split.out + "/checkpoint.old"));
  // A process killed between a save's two renames leaves the checkpoint as
  // checkpoint.old: resuming still finds it.
  std::filesystem::rename(split.out + "/checkpoint", split.out + "/checkpoint.old");
  EXPECT_EQ(checkpoint_dir(split.out), split.out + "/checkpoint.old");
  split.stop_after = 0;
  split.resume = true;
  auto rest = run_finetune(split);
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(rest->steps, 3);
  const std::string whole = test::read_file(o.out + "/model.gguf");
  ASSERT_FALSE(whole.empty());
  EXPECT_TRUE(whole == test::read_file(split.out + "/model.gguf"));

  // A LoRA run cannot resume a full checkpoint (nor the reverse).
  FinetuneOptions lora = split;
  lora.full = false;
  auto refused = run_finetune(lora);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("mode"), std::string::npos) << refused.error().message;
}

// tiny-gqa-hf with every tensor made F32 (same names, Hugging Face q/k rows).
std::string write_f32_hf_copy(const test::TempDir& dir) {
  const std::string src = test::conformance_path("models/tiny-gqa-hf");
  const std::string dst = dir.path("tiny-hf-f32");
  std::filesystem::create_directories(dst);
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(src + "/" + f, dst + "/" + f);
  auto file = SafetensorsFile::open(src + "/model.safetensors");
  EXPECT_TRUE(file) << file.error().message;
  std::vector<std::vector<float>> data;
  data.reserve(file->tensors().size());
  std::vector<SafetensorsWriteTensor> out;
  for (const SafetensorsTensor& t : file->tensors()) {
    const TensorView& v = t.view;
    data.emplace_back(static_cast<size_t>(v.elements()));
    dequantize_row(v.dtype, v.data, data.back().data(), v.elements());
    out.push_back({t.name, DType::F32, t.shape,
                   {reinterpret_cast<const std::byte*>(data.back().data()), data.back().size() * sizeof(float)}});
  }
  auto ok = write_safetensors(dst + "/model.safetensors", out);
  EXPECT_TRUE(ok) << ok.error().message;
  return dst;
}

TEST(FullFinetune, HuggingFaceAndGgufSourcesTrainTheSameWeights) {
  test::TempDir dir;
  const std::string hf = write_f32_hf_copy(dir);
  auto hf_model = Model::load(hf);
  ASSERT_TRUE(hf_model) << hf_model.error().message;
  auto tokenizer = tokenizer_gguf_metadata(**hf_model);
  ASSERT_TRUE(tokenizer);
  GgufExportOptions options;
  ASSERT_TRUE(write_llama_gguf((*hf_model)->config(), (*hf_model)->weights(), *tokenizer, options, dir.path("f32.gguf")));

  FinetuneOptions o = pretrain_options(dir, hf, "from-hf");
  o.steps = 2;
  o.lr = 1e-3;
  ASSERT_TRUE(run_finetune(o));
  o.model = dir.path("f32.gguf");
  o.out = dir.path("from-gguf");
  ASSERT_TRUE(run_finetune(o));
  auto a = GgufFile::open(dir.path("from-hf/model.gguf"));
  auto b = GgufFile::open(dir.path("from-gguf/model.gguf"));
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (size_t i = 0; i < a->tensors().size(); ++i) {
    const TensorView& x = a->tensors()[i].view;
    const TensorView& y = b->tensors()[i].view;
    EXPECT_EQ(a->tensors()[i].name, b->tensors()[i].name);
    ASSERT_EQ(x.bytes(), y.bytes());
    EXPECT_EQ(std::memcmp(x.data, y.data, x.bytes()), 0) << a->tensors()[i].name;
  }
  // The trained weights moved away from the source's.
  auto source = Model::load(dir.path("f32.gguf"));
  ASSERT_TRUE(source);
  auto trained = Model::load(dir.path("from-gguf/model.gguf"));
  ASSERT_TRUE(trained);
  const TensorView& before = (*source)->weights().layers[1].wk;
  const TensorView& after = (*trained)->weights().layers[1].wk;
  EXPECT_NE(std::memcmp(before.data, after.data, before.bytes()), 0);
}

TEST(FullFinetune, RefusesNonF32ModelsAndLoraOptions) {
  test::TempDir dir;
  FinetuneOptions o = pretrain_options(dir, test::conformance_path("models/small-256-Q4_0.gguf"), "q4");
  auto r = run_finetune(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("--full needs an F32 model"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("as Q4_0"), std::string::npos) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(o.out + "/model.gguf"));

  o.model = test::conformance_path("models/tiny-gqa.gguf");
  o.dropout = 0.1;
  r = run_finetune(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("--dropout"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace officina
