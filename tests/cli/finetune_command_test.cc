// officina finetune / merge-lora / --lora end to end on the tiny model: the
// loss falls, the adapter lands as PEFT and GGUF that give the same logits,
// merging gives the same logits too, an interrupted run resumed from its
// checkpoint ends with exactly the adapter of an uninterrupted one, and bad
// input leaves no adapter behind.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace officina {
namespace {

using test::run_officina;
using test::shell_quote;


std::string model() { return test::conformance_path("models/tiny-gqa.gguf"); }

void write_data(const std::string& path) {
  std::ofstream out(path);
  out << R"({"messages": [{"role": "user", "content": "Stato della pressa 3?"}, {"role": "assistant", "content": "In marcia, vibrazioni 4.7 mm/s."}]})" << "\n"
      << R"({"messages": [{"role": "user", "content": "OEE della linea 2?"}, {"role": "assistant", "content": "81% questa settimana."}]})" << "\n"
      << R"({"prompt": "Manutenzione della pressa 3:", "completion": " entro 48 ore."})" << "\n"
      << R"({"text": "La linea 2 produce telai per incartonatrici."})" << "\n"
      << R"({"input_ids": [1, 450, 24638, 10430, 11492, 515], "labels": [-100, -100, 24638, 10430, 11492, 515]})" << "\n";
}

std::vector<double> last_logits(const std::string& args) {
  auto r = run_officina("logits " + args + " -p 'La pressa 3' --top 1");
  EXPECT_EQ(r.code, 0) << r.err;
  return nlohmann::json::parse(r.out)["last_logits"].get<std::vector<double>>();
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return a.size() == b.size() ? d : 1e9;
}

TEST(FinetuneCommand, TrainsAdapterThatLoadsEverywhere) {
  test::TempDir dir;
  write_data(dir.path("train.jsonl"));
  const std::string out = dir.path("adapter");
  auto r = run_officina("finetune -m " + shell_quote(model()) + " --data " + shell_quote(dir.path("train.jsonl")) +
                        " --out " + shell_quote(out) + " --rank 4 --alpha 8 --steps 12 --batch-size 2 --lr 1e-2" +
                        " --seq-len 96 --seed 3 --metrics " + shell_quote(dir.path("m.jsonl")) +
                        " --val-split 0.2 --eval-every 4 --lr-schedule cosine --warmup 2 --dropout 0.05 -q -t 2");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "adapter.gguf"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  // One metrics line per step with the fields the issue names; the loss falls.
  std::istringstream lines(test::read_file(dir.path("m.jsonl")));
  std::string line;
  std::vector<nlohmann::json> steps;
  while (std::getline(lines, line)) steps.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(steps.size(), 12u);
  for (const auto& s : steps)
    for (const char* key : {"step", "loss", "lr", "tokens", "tokens_per_s"}) EXPECT_TRUE(s.contains(key)) << key;
  EXPECT_TRUE(steps[3].contains("eval_loss"));
  EXPECT_LT(steps.back()["loss"].get<double>(), 0.5 * steps.front()["loss"].get<double>());
  EXPECT_LT(steps[0]["lr"].get<double>(), steps[2]["lr"].get<double>());  // warmup
  auto config = nlohmann::json::parse(test::read_file(out + "/adapter_config.json"));
  EXPECT_EQ(config["r"], 4);
  EXPECT_EQ(config["target_modules"].size(), 7u);

  // PEFT and GGUF forms give the same logits, on the GGUF and the Hugging Face base; merging too.
  const auto peft = last_logits("-m " + shell_quote(model()) + " --lora " + shell_quote(out));
  const auto gguf = last_logits("-m " + shell_quote(model()) + " --lora " + shell_quote(out + "/adapter.gguf"));
  const auto hf = last_logits("-m " + shell_quote(test::conformance_path("models/tiny-gqa-hf")) + " --lora " + shell_quote(out));
  const auto base = last_logits("-m " + shell_quote(model()));
  EXPECT_LT(max_diff(peft, gguf), 1e-5);
  EXPECT_LT(max_diff(peft, hf), 1e-3);
  EXPECT_GT(max_diff(peft, base), 1e-2);
  auto merge = run_officina("merge-lora " + shell_quote(model()) + " " + shell_quote(out) + " " + shell_quote(dir.path("merged.gguf")));
  ASSERT_EQ(merge.code, 0) << merge.err;
  EXPECT_LT(max_diff(peft, last_logits("-m " + shell_quote(dir.path("merged.gguf")))), 1e-3);
  // generate --lora runs with it.
  auto gen = run_officina("generate -m " + shell_quote(model()) + " --lora " + shell_quote(out) + " -p 'Stato' -n 4 --temp 0 -q");
  EXPECT_EQ(gen.code, 0) << gen.err;
}

TEST(FinetuneCommand, ResumeEndsWithTheSameAdapter) {
  test::TempDir dir;
  write_data(dir.path("train.jsonl"));
  const std::string common = "finetune -m " + shell_quote(model()) + " --data " + shell_quote(dir.path("train.jsonl")) +
                             " --rank 2 --alpha 4 --steps 6 --batch-size 1 --grad-accum 2 --lr 5e-3 --seq-len 64" +
                             " --dropout 0.1 --weight-decay 0.01 --clip 1 -q -t 1 --seed 9 --out ";
  auto whole = run_officina(common + shell_quote(dir.path("whole")));
  ASSERT_EQ(whole.code, 0) << whole.err;
  auto first = run_officina(common + shell_quote(dir.path("split")) + " --stop-after 3");
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_TRUE(std::filesystem::exists(dir.path("split/checkpoint/state.json")));
  EXPECT_FALSE(std::filesystem::exists(dir.path("split/adapter_model.safetensors")));
  auto rest = run_officina(common + shell_quote(dir.path("split")) + " --resume");
  ASSERT_EQ(rest.code, 0) << rest.err;
  EXPECT_EQ(test::read_file(dir.path("whole/adapter_model.safetensors")), test::read_file(dir.path("split/adapter_model.safetensors")));
  // A resume with other settings is refused.
  std::string other_seed = common;
  other_seed.replace(other_seed.find("--seed 9"), 8, "--seed 10");
  auto other = run_officina(other_seed + shell_quote(dir.path("split")) + " --resume");
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("seed"), std::string::npos) << other.err;
}

TEST(FinetuneCommand, BadInputLeavesNoAdapter) {
  test::TempDir dir;
  {
    std::ofstream(dir.path("bad.jsonl")) << "{\"text\": \"ok\"}\n{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n";
    std::ofstream(dir.path("empty.jsonl")) << "";
  }
  struct Case {
    std::string args, expected;
  };
  const std::string m = "-m " + shell_quote(model());
  const Case cases[] = {
      {m + " --data " + shell_quote(dir.path("bad.jsonl")), "bad.jsonl:2: message 0 has unknown role 'robot'"},
      {m + " --data " + shell_quote(dir.path("empty.jsonl")), "no samples"},
      {m + " --data " + shell_quote(dir.path("none.jsonl")), "cannot open"},
      {m + " --data " + shell_quote(dir.path("bad.jsonl")) + " --targets q,x", "unknown projection 'x'"},
      {m + " --data " + shell_quote(dir.path("bad.jsonl")) + " --lr-schedule wavy", "constant, linear or cosine"},
      {m + " --data " + shell_quote(dir.path("bad.jsonl")) + " --rank 0", "--rank"},
      {"-m " + shell_quote(test::conformance_path("models/small-256-Q4_0.gguf")) + " --data " +
           shell_quote(dir.path("bad.jsonl")) + " --full",
       "--full needs an F32 model"},
      {m + " --data " + shell_quote(dir.path("bad.jsonl")) + " --full --rank 8", "--rank is a LoRA option"},
      {"-m " + shell_quote(test::conformance_path("models/tiny-mha.gguf")) + " --data " + shell_quote(dir.path("bad.jsonl")) +
           " --init-adapter " + shell_quote(test::conformance_path("lora/tiny-gqa/adapter.gguf")),
       "another model"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto r = run_officina("finetune " + c.args + " --steps 1 -q --out " + shell_quote(dir.path("out")));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.path("out/adapter_model.safetensors")));
    EXPECT_FALSE(std::filesystem::exists(dir.path("out/model.gguf")));
  }
}

}  // namespace
}  // namespace officina
