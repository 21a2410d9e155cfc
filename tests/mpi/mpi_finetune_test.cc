// Data-parallel training end to end: `mpirun -np 2 officina finetune` (one
// thread per rank) must train what one process trains with the same global
// batch, up to the order of float sums (see expect_close for the
// tolerances) — for a LoRA adapter on tiny-gqa
// (uneven shards, dropout, weight decay, clipping), for a run stopped and
// resumed under MPI, and for --full on a tiny random F32 model. An error
// is said once (by rank 0) and makes mpirun fail. Registered only when
// officina is built with MPI and mpirun exists (tests/CMakeLists.txt).
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "formats/gguf_file.h"
#include "formats/safetensors_file.h"
#include "mpi/mpi_test_util.h"
#include "test_util.h"

namespace officina {
namespace {

using test::shell_quote;

std::string model() { return test::conformance_path("models/tiny-gqa.gguf"); }

std::string mpirun(int np) { return test::mpirun_command(np); }

// Runs a shell command; exit code and stderr+stdout together.
test::Outcome run(const std::string& command) {
  test::Outcome r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.err.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string officina() { return shell_quote(test::officina_binary()) + " "; }

void write_data(const std::string& path) {
  std::ofstream out(path);
  out << R"({"messages": [{"role": "user", "content": "Stato della pressa 3?"}, {"role": "assistant", "content": "In marcia, vibrazioni 4.7 mm/s."}]})" << "\n"
      << R"({"messages": [{"role": "user", "content": "OEE della linea 2?"}, {"role": "assistant", "content": "81% questa settimana."}]})" << "\n"
      << R"({"prompt": "Manutenzione della pressa 3:", "completion": " entro 48 ore."})" << "\n"
      << R"({"text": "La linea 2 produce telai per incartonatrici."})" << "\n"
      << R"({"text": "Il forno di verniciatura lavora a 180 gradi."})" << "\n"
      << R"({"input_ids": [1, 450, 24638, 10430, 11492, 515], "labels": [-100, -100, 24638, 10430, 11492, 515]})" << "\n";
}

using Tensors = std::map<std::string, std::vector<float>>;

void add_tensor(const std::string& name, const TensorView& v, Tensors& out) {
  EXPECT_EQ(v.dtype, DType::F32) << name;
  std::vector<float> values(static_cast<size_t>(v.elements()));
  std::memcpy(values.data(), v.data, values.size() * sizeof(float));
  out[name] = std::move(values);
}

Tensors read_adapter(const std::string& dir) {
  Tensors out;
  auto file = SafetensorsFile::open(dir + "/adapter_model.safetensors");
  EXPECT_TRUE(file) << file.error().message;
  if (!file) return out;
  for (const auto& t : file->tensors()) {
    auto v = file->view(t.name);
    EXPECT_TRUE(v) << v.error().message;
    if (v) add_tensor(t.name, *v, out);
  }
  return out;
}

Tensors read_gguf(const std::string& path) {
  Tensors out;
  auto file = GgufFile::open(path);
  EXPECT_TRUE(file) << file.error().message;
  if (!file) return out;
  for (const auto& t : file->tensors()) add_tensor(t.name, t.view, out);
  return out;
}

// Each tensor t of `a` and `b` the same within ||a_t - b_t|| <= rel_norm ·
// ||a_t|| (Frobenius) and, element by element, |a - b| <= rel_max · max|a_t|.
// Why two bounds and not one tight element-wise one: AdamW divides each
// gradient element by its own running RMS, so an element whose gradient is
// a near-cancelling sum of the size of eps (attention's softmax backward
// makes many) turns the float rounding of another summation order into a
// visible share of lr; such elements are few, so the norm bound stays tight
// while the element bound allows them. A sharding or scaling bug moves
// every element by about lr (and the losses; see the metrics checks).
void expect_close(const Tensors& a, const Tensors& b, double rel_norm, double rel_max) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  double worst_norm = 0, worst_max = 0;
  for (const auto& [name, x] : a) {
    auto it = b.find(name);
    ASSERT_NE(it, b.end()) << name;
    const std::vector<float>& y = it->second;
    ASSERT_EQ(x.size(), y.size()) << name;
    double scale = 0, norm = 0, diff = 0;
    for (float v : x) {
      scale = std::max(scale, static_cast<double>(std::fabs(v)));
      norm += static_cast<double>(v) * static_cast<double>(v);
    }
    for (size_t i = 0; i < x.size(); ++i) {
      const double d = std::fabs(static_cast<double>(x[i]) - static_cast<double>(y[i]));
      diff += d * d;
      worst_max = std::max(worst_max, scale > 0 ? d / scale : d);
      ASSERT_LE(d, rel_max * scale) << name << "[" << i << "]: " << x[i] << " vs " << y[i];
    }
    norm = std::sqrt(norm);
    diff = std::sqrt(diff);
    worst_norm = std::max(worst_norm, norm > 0 ? diff / norm : diff);
    EXPECT_LE(diff, rel_norm * norm) << name;
  }
  std::printf("largest differences: %.3g of a tensor's norm, %.3g of a tensor's largest value\n", worst_norm, worst_max);
}

std::vector<nlohmann::json> metrics(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(test::read_file(path));
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class MpiFinetune : public ::testing::Test {
 protected:
  void SetUp() override {
    write_data(dir.path("train.jsonl"));
    // Batch 3 over 2 ranks: shards of 2 and 1 sequences.
    lora = "finetune -m " + shell_quote(model()) + " --data " + shell_quote(dir.path("train.jsonl")) +
           " --rank 4 --alpha 8 --steps 4 --batch-size 3 --grad-accum 1 --no-packing --seq-len 64 --lr 2e-3" +
           " --dropout 0.05 --weight-decay 0.01 --clip 1 --seed 5 -q -t 1";
  }
  test::TempDir dir;
  std::string lora;
};

TEST_F(MpiFinetune, TwoRanksTrainTheAdapterOneProcessTrains) {
  auto one = run(officina() + lora + " --out " + shell_quote(dir.path("one")) + " --metrics " + shell_quote(dir.path("one.jsonl")));
  ASSERT_EQ(one.code, 0) << one.err;
  auto two = run(mpirun(2) + officina() + lora + " --out " + shell_quote(dir.path("two")) + " --metrics " +
                 shell_quote(dir.path("two.jsonl")));
  ASSERT_EQ(two.code, 0) << two.err;
  expect_close(read_adapter(dir.path("one")), read_adapter(dir.path("two")), 5e-5, 1e-3);
  EXPECT_EQ(read_adapter(dir.path("one")).size(), 3u * 7u * 2u);  // A and B of 7 projections in tiny-gqa's 3 layers

  // The same losses (the mean over the global step's trained tokens), the
  // same gradient norms (of the summed gradients, before clipping: a
  // gradient scaled per rank would show here), the same tokens per step,
  // and the world size reported.
  const auto m1 = metrics(dir.path("one.jsonl")), m2 = metrics(dir.path("two.jsonl"));
  ASSERT_EQ(m1.size(), 4u);
  ASSERT_EQ(m2.size(), 4u);
  for (size_t i = 0; i < m1.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_NEAR(m1[i]["loss"].get<double>(), m2[i]["loss"].get<double>(), 1e-6 * m1[i]["loss"].get<double>());
    EXPECT_NEAR(m1[i]["grad_norm"].get<double>(), m2[i]["grad_norm"].get<double>(), 1e-5 * m1[i]["grad_norm"].get<double>());
    EXPECT_EQ(m1[i]["tokens"], m2[i]["tokens"]);
    EXPECT_EQ(m1[i]["trained_tokens"], m2[i]["trained_tokens"]);
    EXPECT_EQ(m1[i]["world_size"], 1);
    EXPECT_EQ(m2[i]["world_size"], 2);
  }
  EXPECT_NE(two.err.find("on 2 ranks"), std::string::npos) << two.err;
}

TEST_F(MpiFinetune, ResumedUnderMpiEndsWithTheSameAdapter) {
  auto one = run(officina() + lora + " --out " + shell_quote(dir.path("one")));
  ASSERT_EQ(one.code, 0) << one.err;
  const std::string out = " --out " + shell_quote(dir.path("split"));
  auto first = run(mpirun(2) + officina() + lora + out + " --stop-after 2");
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_TRUE(std::filesystem::exists(dir.path("split/checkpoint/state.json")));
  EXPECT_FALSE(std::filesystem::exists(dir.path("split/adapter_model.safetensors")));
  auto rest = run(mpirun(2) + officina() + lora + out + " --resume");
  ASSERT_EQ(rest.code, 0) << rest.err;
  expect_close(read_adapter(dir.path("one")), read_adapter(dir.path("split")), 5e-5, 1e-3);
}

TEST_F(MpiFinetune, FullParametersOfARandomModel) {
  const std::string random = dir.path("random.gguf");
  auto init = run(officina() + "model init --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --vocab-from " +
                  shell_quote(model()) + " --seed 1 --out " + shell_quote(random));
  ASSERT_EQ(init.code, 0) << init.err;
  const std::string full = "finetune --full -m " + shell_quote(random) + " --data " + shell_quote(dir.path("train.jsonl")) +
                           " --steps 3 --batch-size 2 --grad-accum 2 --seq-len 64 --lr 1e-3 --weight-decay 0.01" +
                           " --seed 2 -q -t 1 --out ";
  auto one = run(officina() + full + shell_quote(dir.path("one")));
  ASSERT_EQ(one.code, 0) << one.err;
  auto two = run(mpirun(2) + officina() + full + shell_quote(dir.path("two")));
  ASSERT_EQ(two.code, 0) << two.err;
  const Tensors a = read_gguf(dir.path("one/model.gguf")), b = read_gguf(dir.path("two/model.gguf"));
  expect_close(a, b, 1e-5, 1e-5);
  EXPECT_NE(a, read_gguf(random));  // trained
}

TEST_F(MpiFinetune, AnErrorIsSaidOnceAndFailsTheJob) {
  std::ofstream(dir.path("bad.jsonl")) << "{\"text\": \"ok\"}\n{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n";
  auto r = run(mpirun(2) + officina() + "finetune -m " + shell_quote(model()) + " --data " +
               shell_quote(dir.path("bad.jsonl")) + " --steps 1 -q -t 1 --out " + shell_quote(dir.path("bad")));
  EXPECT_NE(r.code, 0);
  size_t said = 0;
  for (size_t at = r.err.find("officina: error:"); at != std::string::npos; at = r.err.find("officina: error:", at + 1)) ++said;
  EXPECT_EQ(said, 1u) << r.err;
  EXPECT_NE(r.err.find("bad.jsonl:2: message 0 has unknown role 'robot'"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path("bad/adapter_model.safetensors")));
}

}  // namespace
}  // namespace officina
