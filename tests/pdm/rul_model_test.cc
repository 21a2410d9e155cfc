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

TEST(RulModel, LearnsSyntheticDegradationDropsConstantSensorsAndCalibrates) {
  FleetOptions fo;
  fo.units = 120;
  RunDataset train = make_fleet(fo);
  fo.seed = 2;
  fo.units = 300;
  RunDataset test = make_fleet(fo);
  std::vector<double> truth = truncate_fleet(test, 3);
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
  RulTrainReport report;
  auto model = RulModel::train(train, o, pool, &report);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ(report.members.size(), 3u);
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
  auto a = RulModel::train(train, o, one), b = RulModel::train(train, o, two);
  ASSERT_TRUE(a && b);
  auto pa = a->predict(train), pb = b->predict(train);
  for (size_t i = 0; i < pa->size(); ++i) EXPECT_EQ((*pa)[i].rul, (*pb)[i].rul);
}

TEST(RulModel, ClearErrors) {
  ThreadPool pool(1);
  RulTrainOptions o;
  o.family = RulFamily::kNeural;
  auto nn = RulModel::train(make_fleet({}), o, pool);
  ASSERT_FALSE(nn);
  EXPECT_NE(nn.error().message.find("training engine (issue 5)"), std::string::npos);

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
