#include "pdm/rul_model.h"

#include <cmath>

#include <gtest/gtest.h>

#include "pdm/metrics.h"
#include "synthetic_fleet.h"
#include "test_util.h"

namespace officina::pdm {
namespace {

using test::FleetOptions;
using test::make_fleet;
using test::truncate_fleet;

struct Scored {
  RulScores model;
  double constant_rmse = 0;
};

Scored evaluate(const RulModel& model, const RunDataset& test, const std::vector<double>& truth, double constant) {
  auto preds = model.predict(test);
  EXPECT_TRUE(preds) << preds.error().message;
  std::vector<double> p, lo, hi;
  for (const auto& u : *preds) p.push_back(u.rul), lo.push_back(u.lo), hi.push_back(u.hi);
  Scored s;
  s.model = *score_rul(p, lo, hi, truth);
  s.constant_rmse = score_rul(std::vector<double>(truth.size(), constant), lo, hi, truth)->rmse;
  return s;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// 120 training units (seed 1) and 300 test units (seed 2) cut at random.
struct TrainTest {
  RunDataset train, test;
  std::vector<double> truth;
};

TrainTest train_and_test() {
  FleetOptions fo;
  fo.units = 120;
  TrainTest t;
  t.train = make_fleet(fo);
  fo.seed = 2;
  fo.units = 300;
  t.test = make_fleet(fo);
  t.truth = truncate_fleet(t.test, 3);
  return t;
}

TEST(RulModel, LearnsSyntheticDegradationDropsConstantSensorsAndCalibrates) {
  auto [train, test, truth] = train_and_test();
  ThreadPool pool(2);
  RulTrainOptions o;
  RulTrainReport report;
  auto model = RulModel::train(train, o, pool, &report);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ(report.regimes, 1);
  EXPECT_EQ(report.dropped_sensors, (std::vector<std::string>{"s7", "s8", "s9"}));
  // A constant guess of the mean true RUL (which a real model would not know).
  Scored s = evaluate(*model, test, truth, mean_of(truth));
  EXPECT_LT(s.model.rmse, 0.6 * s.constant_rmse) << s.model.rmse << " vs " << s.constant_rmse;
  EXPECT_NEAR(s.model.coverage, 0.9, 0.06);
}

TEST(RulModel, NeuralModelLearnsSyntheticDegradationAndCalibrates) {
  auto [train, test, truth] = train_and_test();
  ThreadPool pool(2);
  RulTrainOptions o;
  o.family = RulFamily::kNeural;
  o.rul_cap = 0;  // the truth is uncapped
  o.max_nn_rows = 8000;
  o.nn.max_epochs = 20;
  RulTrainReport report;
  auto model = RulModel::train(train, o, pool, &report);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_TRUE(report.members.empty());
  ASSERT_EQ(report.nets.size(), 1u);
  EXPECT_GE(report.nets[0].best_epoch, 1);
  EXPECT_GT(report.nn_rows, 4000u);

  Scored s = evaluate(*model, test, truth, mean_of(truth));
  EXPECT_LT(s.model.rmse, 0.6 * s.constant_rmse) << s.model.rmse << " vs " << s.constant_rmse;
  EXPECT_NEAR(s.model.coverage, 0.9, 0.06);

  officina::test::TempDir dir;
  ASSERT_TRUE(model->save(dir.path("nn")));
  auto back = RulModel::load(dir.path("nn"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->family(), RulFamily::kNeural);
  auto a = model->predict(test), b = back->predict(test);
  ASSERT_TRUE(a && b);
  for (size_t i = 0; i < a->size(); ++i) EXPECT_EQ((*a)[i].rul, (*b)[i].rul);
}

TEST(RulModel, ReadsVersionOneEnsemblesAndRefusesMismatchedFamilies) {
  FleetOptions fo;
  fo.units = 12;
  RunDataset data = make_fleet(fo);
  ThreadPool pool(1);
  auto gbt = RulModel::train(data, {}, pool);
  ASSERT_TRUE(gbt) << gbt.error().message;
  officina::test::TempDir dir;
  ASSERT_TRUE(gbt->save(dir.path("m")));
  const std::string manifest_path = dir.path("m") + "/manifest.json";
  auto manifest = read_json_file(manifest_path);
  ASSERT_TRUE(manifest);
  // A version 1 ensemble held trees only: still read.
  (*manifest)["family"] = "ensemble";
  (*manifest)["version"] = 1;
  officina::test::write_file(manifest_path, manifest->dump());
  auto v1 = RulModel::load(dir.path("m"));
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(v1->family(), RulFamily::kEnsemble);
  EXPECT_TRUE(v1->predict(data));
  // A version 2 ensemble without networks, or a neural model without them: refused.
  for (const char* family : {"ensemble", "nn"}) {
    (*manifest)["family"] = family;
    (*manifest)["version"] = 2;
    officina::test::write_file(manifest_path, manifest->dump());
    auto bad = RulModel::load(dir.path("m"));
    ASSERT_FALSE(bad) << family;
    EXPECT_NE(bad.error().message.find("model needs"), std::string::npos) << bad.error().message;
  }
}

TEST(RulModel, FindsSixOperatingRegimes) {
  FleetOptions fo;
  fo.units = 120;
  fo.regimes = 6;
  RunDataset train = make_fleet(fo);
  fo.seed = 5;
  fo.units = 150;
  RunDataset test = make_fleet(fo);
  std::vector<double> truth = truncate_fleet(test, 6);
  ThreadPool pool(2);
  RulTrainReport report;
  auto model = RulModel::train(train, {}, pool, &report);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ(report.regimes, 6);
  Scored s = evaluate(*model, test, truth, mean_of(truth));
  EXPECT_LT(s.model.rmse, 0.6 * s.constant_rmse) << s.model.rmse << " vs " << s.constant_rmse;
}

TEST(RulModel, EnsembleSavesAndLoadsToIdenticalPredictions) {
  FleetOptions fo;
  fo.units = 40;
  RunDataset train = make_fleet(fo);
  fo.seed = 9;
  fo.units = 30;
  RunDataset test = make_fleet(fo);
  truncate_fleet(test, 10, 1);  // units as short as one cycle
  ThreadPool pool(2);
  RulTrainOptions o;
  o.family = RulFamily::kEnsemble;
  o.members = 3;
  o.max_nn_rows = 3000;
  o.nn.max_epochs = 8;
  RulTrainReport report;
  auto model = RulModel::train(train, o, pool, &report);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ(report.members.size(), 3u);
  EXPECT_EQ(report.nets.size(), 3u);
  officina::test::TempDir dir;
  ASSERT_TRUE(model->save(dir.path("model")));
  auto back = RulModel::load(dir.path("model"));
  ASSERT_TRUE(back) << back.error().message;
  auto a = model->predict(test), b = back->predict(test);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), test.units.size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].rul, (*b)[i].rul);
    EXPECT_EQ((*a)[i].lo, (*b)[i].lo);
    EXPECT_EQ((*a)[i].hi, (*b)[i].hi);
    EXPECT_EQ((*a)[i].drivers, (*b)[i].drivers);
    EXPECT_TRUE(std::isfinite((*a)[i].rul));
    EXPECT_LE((*a)[i].lo, (*a)[i].rul);
    EXPECT_GE((*a)[i].hi, (*a)[i].rul);
  }
}

TEST(RulModel, SameSeedSameModel) {
  FleetOptions fo;
  fo.units = 30;
  RunDataset train = make_fleet(fo);
  ThreadPool one(1), two(2);
  RulTrainOptions o;
  o.family = RulFamily::kEnsemble;
  o.members = 3;
  o.max_nn_rows = 2000;
  o.nn.max_epochs = 5;
  auto a = RulModel::train(train, o, one), b = RulModel::train(train, o, two);
  ASSERT_TRUE(a && b);
  auto pa = a->predict(train), pb = b->predict(train);
  for (size_t i = 0; i < pa->size(); ++i) EXPECT_EQ((*pa)[i].rul, (*pb)[i].rul);
}

TEST(RulModel, ClearErrors) {
  ThreadPool pool(1);
  RulTrainOptions o;
  o.family = RulFamily::kNeural;
  o.feature_groups = feature_group_bit(FeatureGroup::kCycle);
  auto nn = RulModel::train(make_fleet({}), o, pool);
  ASSERT_FALSE(nn);
  EXPECT_NE(nn.error().message.find("the neural model needs a sequence"), std::string::npos) << nn.error().message;
  o.feature_groups = kAllFeatureGroups;
  o.window = 4;
  auto short_window = RulModel::train(make_fleet({}), o, pool);
  ASSERT_FALSE(short_window);
  EXPECT_NE(short_window.error().message.find("at least 9 cycles"), std::string::npos) << short_window.error().message;

  FleetOptions tiny;
  tiny.units = 2;
  auto few = RulModel::train(make_fleet(tiny), {}, pool);
  ASSERT_FALSE(few);
  EXPECT_NE(few.error().message.find("needs at least 3"), std::string::npos);

  FleetOptions fo;
  fo.units = 10;
  auto model = RulModel::train(make_fleet(fo), {}, pool);
  ASSERT_TRUE(model) << model.error().message;
  RunDataset other = make_fleet(fo);
  other.sensor_names.pop_back();
  for (Unit& u : other.units) {
    std::vector<double> s;
    for (size_t t = 0; t < u.length(); ++t) s.insert(s.end(), u.sensors.begin() + t * 9, u.sensors.begin() + t * 9 + 8);
    u.sensors = s;
  }
  auto wrong = model->predict(other);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("8 sensors, but the model was trained on 3 settings and 9 sensors"),
            std::string::npos)
      << wrong.error().message;

  officina::test::TempDir dir;
  auto missing = RulModel::load(dir.path());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no manifest.json"), std::string::npos);
}

}  // namespace
}  // namespace officina::pdm
