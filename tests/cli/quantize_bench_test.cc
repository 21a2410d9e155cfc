// `officina quantize` and `officina bench` end to end: files that load with
// the asked types, the summary, errors for bad input (and no file left), and
// the bench table and JSON (their shape only: timings never go into tests).
#include <cstring>
#include <filesystem>

#include "base/json_util.h"
#include "formats/gguf_file.h"
#include "test_util.h"

namespace officina {
namespace {

using test::conformance_path;
using test::Outcome;
using test::TempDir;

Outcome run(const std::string& args) { return test::run_officina(args); }
std::string q(const std::string& s) { return test::shell_quote(s); }

// A random model with rows that split into K-quant super-blocks, except
// ffn_down's (288 values), which exercises the fallbacks.
std::string init_model(const TempDir& dir, const std::string& name, const std::string& type = "F32") {
  const std::string path = dir.path(name);
  Outcome r = run("model init --dim 256 --layers 2 --heads 4 --kv-heads 2 --ffn 288 --vocab-from " +
                  q(conformance_path("models/tiny-gqa.gguf")) + " --seed 3 --type " + type + " --out " + q(path));
  EXPECT_EQ(r.code, 0) << r.err;
  return path;
}

TEST(QuantizeCommand, WritesEachTypeWithASummary) {
  TempDir dir;
  const std::string in = init_model(dir, "f32.gguf");
  for (const std::string type : {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q4_K_M"}) {
    SCOPED_TRACE(type);
    const std::string out = dir.path(type + ".gguf");
    Outcome r = run("quantize " + q(in) + " " + q(out) + " " + type + " -t 2");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote " + out + " (" + type), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("F32        5 tensors"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("x smaller"), std::string::npos) << r.out;
    auto g = GgufFile::open(out);
    ASSERT_TRUE(g) << g.error().message;
    const std::string q_type = type == "Q4_K_M" ? "Q4_K" : type;
    EXPECT_EQ(dtype_name(g->find_tensor("blk.0.attn_q.weight")->view.dtype), q_type);
    EXPECT_EQ(g->find_tensor("blk.0.attn_norm.weight")->view.dtype, DType::F32);
    Outcome info = run("info " + q(out));
    ASSERT_EQ(info.code, 0) << info.err;
    Outcome gen = run("generate -q -m " + q(out) + " -p Hello -n 4 --temp 0 --ignore-eos");
    EXPECT_EQ(gen.code, 0) << gen.err;
  }
  // The fallback of ffn_down's 288-value rows is said in a line.
  Outcome k = run("quantize " + q(in) + " " + q(dir.path("k.gguf")) + " Q4_K_M");
  ASSERT_EQ(k.code, 0) << k.err;
  EXPECT_NE(k.out.find("blk.0.ffn_down.weight: 288 columns are not a multiple of the Q4_K block size 256; stored as Q4_0"),
            std::string::npos)
      << k.out;
  EXPECT_NE(k.out.find("blk.1.ffn_down.weight: 288 columns are not a multiple of the Q6_K block size 256; stored as Q8_0"),
            std::string::npos)
      << k.out;
}

TEST(QuantizeCommand, Q8_0EqualsModelInitWithThatType) {
  TempDir dir;
  const std::string f32 = init_model(dir, "f32.gguf");
  const std::string direct = init_model(dir, "direct.gguf", "Q8_0");
  Outcome r = run("quantize " + q(f32) + " " + q(dir.path("q.gguf")) + " q8_0");
  ASSERT_EQ(r.code, 0) << r.err;
  auto a = GgufFile::open(dir.path("q.gguf"));
  auto b = GgufFile::open(direct);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (size_t i = 0; i < a->tensors().size(); ++i) {
    const TensorView& x = a->tensors()[i].view;
    const TensorView& y = b->tensors()[i].view;
    ASSERT_EQ(x.dtype, y.dtype) << a->tensors()[i].name;
    ASSERT_EQ(x.bytes(), y.bytes());
    EXPECT_EQ(std::memcmp(x.data, y.data, x.bytes()), 0) << a->tensors()[i].name;
  }
  // The same logits too, since the tensors and hyper-parameters agree.
  Outcome la = run("logits -m " + q(dir.path("q.gguf")) + " --tokens 1,15043,3186 --top 1");
  Outcome lb = run("logits -m " + q(direct) + " --tokens 1,15043,3186 --top 1");
  ASSERT_EQ(la.code, 0) << la.err;
  EXPECT_EQ(la.out, lb.out);
}

TEST(QuantizeCommand, BadInputGivesOneLineAndNoFile) {
  TempDir dir;
  const std::string out = dir.path("out.gguf");
  Outcome unknown = run("quantize " + q(conformance_path("models/tiny-mha.gguf")) + " " + q(out) + " Q5_K");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("officina: error: unknown quantization type 'Q5_K' (choose F16, BF16, Q8_0, Q4_0, Q4_K or Q4_K_M)"),
            std::string::npos)
      << unknown.err;
  Outcome missing = run("quantize " + q(dir.path("nope.gguf")) + " " + q(out) + " Q8_0");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("nope.gguf: no such file or directory"), std::string::npos) << missing.err;
  const std::string bytes = test::read_file(conformance_path("models/tiny-mha.gguf"));
  test::write_file(dir.path("truncated.gguf"), bytes.substr(0, bytes.size() / 2));
  Outcome truncated = run("quantize " + q(dir.path("truncated.gguf")) + " " + q(out) + " Q8_0");
  EXPECT_EQ(truncated.code, 1);
  EXPECT_NE(truncated.err.find("truncated.gguf"), std::string::npos) << truncated.err;
  test::write_file(dir.path("garbage.gguf"), "not a gguf file at all");
  Outcome garbage = run("quantize " + q(dir.path("garbage.gguf")) + " " + q(out) + " Q8_0");
  EXPECT_EQ(garbage.code, 1);
  EXPECT_NE(garbage.err.find("garbage.gguf"), std::string::npos) << garbage.err;
  Outcome no_dir = run("quantize " + q(conformance_path("models/tiny-mha.gguf")) + " " + q(dir.path("no/dir/out.gguf")) +
                       " Q8_0");
  EXPECT_EQ(no_dir.code, 1);
  EXPECT_NE(no_dir.err.find("no/dir/out.gguf"), std::string::npos) << no_dir.err;
  // Nothing half-written is left behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_TRUE(entry.path().filename() == "truncated.gguf" || entry.path().filename() == "garbage.gguf")
        << entry.path();
}

TEST(BenchCommand, PrintsTheTableAndWritesJson) {
  TempDir dir;
  const std::string model = conformance_path("models/tiny-gqa.gguf");
  const std::string json = dir.path("bench.json");
  Outcome r = run("bench -m " + q(model) + " -p 16 -n 8 -t 2 -r 2 --json " + q(json));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("| model | size | params | type | threads | test | t/s |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| tiny-gqa | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" | pp16 | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" | tg8 | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ± "), std::string::npos) << r.out;
  auto rows = read_json_file(json);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_TRUE(rows->is_array());
  ASSERT_EQ(rows->size(), 2u);
  const Json& pp = (*rows)[0];
  const Json& tg = (*rows)[1];
  EXPECT_EQ(pp["test"], "pp16");
  EXPECT_EQ(tg["test"], "tg8");
  EXPECT_EQ(pp["n_prompt"], 16);
  EXPECT_EQ(pp["n_gen"], 0);
  EXPECT_EQ(tg["n_prompt"], 0);
  EXPECT_EQ(tg["n_gen"], 8);
  for (const Json* row : {&pp, &tg}) {
    EXPECT_EQ((*row)["threads"], 2);
    EXPECT_EQ((*row)["model"], "tiny-gqa");
    EXPECT_EQ((*row)["type"], "F32");  // F16 embedding, F32 layers: general.file_type 0 says "mostly F32"
    EXPECT_GT((*row)["avg_ts"].get<double>(), 0);
    EXPECT_GE((*row)["stddev_ts"].get<double>(), 0);
    ASSERT_EQ((*row)["samples_ts"].size(), 2u);
    double sum = 0;
    for (const Json& s : (*row)["samples_ts"]) {
      EXPECT_GT(s.get<double>(), 0);
      sum += s.get<double>();
    }
    EXPECT_NEAR((*row)["avg_ts"].get<double>(), sum / 2, 1e-6 * sum);
  }
}

TEST(BenchCommand, BadInput) {
  Outcome missing = run("bench -m /nonexistent/model.gguf -r 1");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/model.gguf"), std::string::npos) << missing.err;
  Outcome nothing = run("bench -m " + q(conformance_path("models/tiny-gqa.gguf")) + " -p 0 -n 0");
  EXPECT_EQ(nothing.code, 1);
  EXPECT_NE(nothing.err.find("nothing to measure"), std::string::npos) << nothing.err;
  Outcome too_long = run("bench -m " + q(conformance_path("models/tiny-mha.gguf")) + " -p 100000 -n 0");
  EXPECT_EQ(too_long.code, 1);
  EXPECT_NE(too_long.err.find("context"), std::string::npos) << too_long.err;
}

}  // namespace
}  // namespace officina
