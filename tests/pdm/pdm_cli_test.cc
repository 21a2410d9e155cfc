// End-to-end: the officina binary's `pdm` subcommands on a synthetic fleet
// and on runs exported by the twin.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/json_util.h"
#include "pdm/run_reader.h"
#include "synthetic_fleet.h"
#include "test_util.h"

namespace officina::pdm {
namespace {

using officina::test::run_officina;
using officina::test::shell_quote;
using officina::test::TempDir;

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class PdmCli : public ::testing::Test {
 protected:
  void SetUp() override {
    test::FleetOptions fo;
    fo.units = 40;
    write(dir_.path("train.txt"), format_cmapss(test::make_fleet(fo)));
    fo.seed = 4;
    fo.units = 12;
    RunDataset t = test::make_fleet(fo);
    std::vector<double> rul = test::truncate_fleet(t, 5);
    write(dir_.path("test.txt"), format_cmapss(t));
    std::string r;
    for (double v : rul) r += fmt::format("{}\n", v);
    write(dir_.path("RUL.txt"), r);
  }
  std::string p(const std::string& name) { return shell_quote(dir_.path(name)); }
  TempDir dir_;
};

TEST_F(PdmCli, TrainPredictEvaluateAnomalies) {
  auto train = run_officina("pdm train --data " + p("train.txt") + " --model ensemble --members 3 --seed 3 --out " + p("model"));
  ASSERT_EQ(train.code, 0) << train.err;
  EXPECT_NE(train.out.find("sensors dropped (constant): s7, s8, s9"), std::string::npos) << train.out;
  EXPECT_TRUE(std::filesystem::exists(dir_.path("model/manifest.json")));

  auto predict = run_officina("pdm predict --model " + p("model") + " --data " + p("test.txt") + " --json");
  ASSERT_EQ(predict.code, 0) << predict.err;
  auto json = parse_json(predict.out, "predict output");
  ASSERT_TRUE(json) << json.error().message;
  ASSERT_TRUE(json->is_array());
  ASSERT_EQ(json->size(), 12u);
  for (size_t i = 0; i < json->size(); ++i) {
    const Json& u = (*json)[i];
    EXPECT_EQ(u["unit"].get<int>(), static_cast<int>(i + 1));  // file order
    EXPECT_LE(u["lo"].get<double>(), u["rul"].get<double>());
    EXPECT_GE(u["hi"].get<double>(), u["rul"].get<double>());
    EXPECT_TRUE(u["drivers"].is_array());
  }

  auto table = run_officina("pdm predict --model " + p("model") + " --data " + p("test.txt"));
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("lo90"), std::string::npos);

  auto eval = run_officina("pdm evaluate --model " + p("model") + " --data " + p("test.txt") + " --rul " + p("RUL.txt") + " --json");
  ASSERT_EQ(eval.code, 0) << eval.err;
  auto scores = parse_json(eval.out, "evaluate output");
  ASSERT_TRUE(scores) << scores.error().message;
  EXPECT_EQ((*scores)["units"].get<int>(), 12);
  EXPECT_GT((*scores)["rmse"].get<double>(), 0.0);
  EXPECT_LT((*scores)["rmse"].get<double>(), 60.0);
  EXPECT_GE((*scores)["coverage"].get<double>(), 0.5);
  EXPECT_TRUE((*scores)["phm08"].is_number());

  auto anomalies = run_officina("pdm anomalies --model " + p("model") + " --data " + p("train.txt") + " --json");
  ASSERT_EQ(anomalies.code, 0) << anomalies.err;
  auto alarms = parse_json(anomalies.out, "anomalies output");
  ASSERT_TRUE(alarms) << alarms.error().message;
  ASSERT_TRUE(alarms->is_array());
  EXPECT_GT(alarms->size(), 20u);  // most synthetic units degrade visibly before failing
  for (const Json& a : *alarms) {
    EXPECT_LE(a["start_cycle"].get<int>(), a["end_cycle"].get<int>());
    EXPECT_FALSE(a["drivers"].empty());
  }
}

TEST_F(PdmCli, NeuralModelTrainsPredictsAndEvaluates) {
  auto train = run_officina("pdm train --data " + p("train.txt") + " --model nn --epochs 10 --window 20 --seed 2 --out " +
                            p("nn"));
  ASSERT_EQ(train.code, 0) << train.err;
  EXPECT_NE(train.out.find("network 1: "), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("windows of 20 cycles"), std::string::npos) << train.out;
  auto manifest = read_json_file(dir_.path("nn/manifest.json"));
  ASSERT_TRUE(manifest);
  EXPECT_EQ((*manifest)["family"], "nn");
  EXPECT_EQ((*manifest)["nets"], 1);
  EXPECT_EQ((*manifest)["trees"], 0);
  auto predict = run_officina("pdm predict --model " + p("nn") + " --data " + p("test.txt") + " --json");
  ASSERT_EQ(predict.code, 0) << predict.err;
  auto json = parse_json(predict.out, "predict output");
  ASSERT_TRUE(json && json->size() == 12u);
  for (const Json& u : *json) {
    EXPECT_GE(u["rul"].get<double>(), 0.0);
    EXPECT_LE(u["lo"].get<double>(), u["rul"].get<double>());
  }
  auto eval = run_officina("pdm evaluate --model " + p("nn") + " --data " + p("test.txt") + " --rul " + p("RUL.txt") +
                           " --json");
  ASSERT_EQ(eval.code, 0) << eval.err;
  auto scores = parse_json(eval.out, "evaluate output");
  ASSERT_TRUE(scores) << eval.out;
  EXPECT_GT((*scores)["rmse"].get<double>(), 0.0);
}

TEST_F(PdmCli, ClearErrors) {
  auto nn = run_officina("pdm train --data " + p("train.txt") + " --model nn --window 4 --out " + p("nn"));
  EXPECT_EQ(nn.code, 1);
  EXPECT_NE(nn.err.find("must be at least 9 cycles"), std::string::npos) << nn.err;
  auto epochs = run_officina("pdm train --data " + p("train.txt") + " --model nn --epochs 0 --out " + p("nn"));
  EXPECT_EQ(epochs.code, 1);
  EXPECT_NE(epochs.err.find("--epochs must be 1 to 10000"), std::string::npos) << epochs.err;
  auto family = run_officina("pdm train --data " + p("train.txt") + " --model lstm --out " + p("nn"));
  EXPECT_EQ(family.code, 1);
  EXPECT_NE(family.err.find("use gbt, nn or ensemble"), std::string::npos) << family.err;

  write(dir_.path("ragged.txt"), "1 1 0 0 100 1 2\n1 2 0 0 100 1\n");
  auto ragged = run_officina("pdm train --data " + p("ragged.txt") + " --out " + p("m"));
  EXPECT_EQ(ragged.code, 1);
  EXPECT_NE(ragged.err.find("ragged.txt:2: 6 columns, expected 7"), std::string::npos) << ragged.err;

  ASSERT_EQ(run_officina("pdm train --data " + p("train.txt") + " --out " + p("model")).code, 0);
  write(dir_.path("short.txt"), "1\n2\n");
  auto count = run_officina("pdm evaluate --model " + p("model") + " --data " + p("test.txt") + " --rul " + p("short.txt"));
  EXPECT_EQ(count.code, 1);
  EXPECT_NE(count.err.find("2 RUL values, but"), std::string::npos) << count.err;

  auto no_model = run_officina("pdm predict --model " + p("nowhere") + " --data " + p("test.txt"));
  EXPECT_EQ(no_model.code, 1);
  EXPECT_NE(no_model.err.find("no manifest.json"), std::string::npos) << no_model.err;

  auto drop = run_officina("pdm train --data " + p("train.txt") + " --drop-features colour --out " + p("m2"));
  EXPECT_EQ(drop.code, 1);
  EXPECT_NE(drop.err.find("unknown feature group 'colour'"), std::string::npos) << drop.err;
}

TEST_F(PdmCli, CsvWithColumnMapping) {
  write(dir_.path("runs.csv"),
        "engine,t,alt,vib\n1,1,0,1.0\n1,2,0,1.1\n1,3,0,1.3\n2,1,0,1.0\n2,2,0,1.2\n3,1,0,0.9\n3,2,0,1.0\n3,3,0,1.2\n3,4,0,1.5\n"
        "4,1,0,1.0\n4,2,0,1.4\n");
  auto train = run_officina("pdm train --format csv --columns 'unit=engine,cycle=t,settings=alt' --data " + p("runs.csv") +
                            " --out " + p("csv-model"));
  ASSERT_EQ(train.code, 0) << train.err;
  auto predict = run_officina("pdm predict --format csv --columns 'unit=engine,cycle=t,settings=alt' --model " +
                              p("csv-model") + " --data " + p("runs.csv") + " --json");
  ASSERT_EQ(predict.code, 0) << predict.err;
  EXPECT_EQ(parse_json(predict.out, "out")->size(), 4u);
}

TEST_F(PdmCli, MakeDatasetFromTwinRuns) {
  const std::string plant = std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml";
  auto exported = run_officina("twin export-runs " + shell_quote(plant) + " --out " + p("runs") +
                               " --horizon 180d --replications 2 --seed 1");
  ASSERT_EQ(exported.code, 0) << exported.err;
  auto made = run_officina("pdm make-dataset --runs " + p("runs") +
                           " --machine forno-verniciatura --test-fraction 0.5 --seed 2 --out " + p("ds"));
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_NE(made.out.find("sensors: vibrazione_rms, temperatura"), std::string::npos) << made.out;
  auto truth = read_rul_file(dir_.path("ds/RUL.txt"));
  ASSERT_TRUE(truth) << truth.error().message;
  auto test_set = read_runs(dir_.path("ds/test.txt"), DataFormat::kCmapss);
  ASSERT_TRUE(test_set) << test_set.error().message;
  ASSERT_EQ(truth->size(), test_set->units.size());
  auto train_set = read_runs(dir_.path("ds/train.txt"), DataFormat::kCmapss);
  ASSERT_TRUE(train_set) << train_set.error().message;
  for (size_t i = 0; i < truth->size(); ++i) EXPECT_GT((*truth)[i], 0.0);

  auto wrong = run_officina("pdm make-dataset --runs " + p("runs") + " --machine saldatrice --out " + p("ds2"));
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find("no machine 'saldatrice'"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("forno-verniciatura"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace officina::pdm
