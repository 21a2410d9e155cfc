#include "pdm/gbt_model.h"

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "base/random.h"
#include "pdm/conformal.h"

namespace officina::pdm {
namespace {

struct Regression {
  size_t n = 0, f = 6;
  std::vector<double> x, y;
};

// y = 3 sin(x0) + x1² - 2 [x2 > 0.5] + noise; x3..x5 are distractors.
Regression make_regression(size_t n, uint64_t seed, double noise = 0.3) {
  Regression r;
  r.n = n;
  Rng rng(seed);
  for (size_t i = 0; i < n; ++i) {
    double row[6];
    for (double& v : row) v = 4 * rng.uniform() - 2;
    r.x.insert(r.x.end(), row, row + 6);
    r.y.push_back(3 * std::sin(row[0]) + row[1] * row[1] - 2 * (row[2] > 0.5) + noise * rng.normal());
  }
  return r;
}

double rmse(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s / static_cast<double>(a.size()));
}

struct Trained {
  GbtModel model;
  GbtTrainInfo info;
};

Trained train(const Regression& data, uint64_t seed, ThreadPool* pool) {
  FeatureBinner binner = FeatureBinner::fit(data.x.data(), data.n, data.f, 64);
  BinnedMatrix bins = binner.transform(data.x.data(), data.n);
  std::vector<uint32_t> tr, va;
  for (uint32_t i = 0; i < data.n; ++i) (i % 5 == 0 ? va : tr).push_back(i);
  GbtOptions o;
  o.seed = seed;
  Trained t;
  auto m = GbtModel::train(bins, binner, data.y, {}, tr, va, o, pool, &t.info);
  EXPECT_TRUE(m) << m.error().message;
  t.model = std::move(*m);
  return t;
}

std::vector<double> predict_all(const GbtModel& m, const Regression& data) {
  std::vector<double> p;
  for (size_t i = 0; i < data.n; ++i) p.push_back(m.predict(&data.x[i * data.f]));
  return p;
}

TEST(GbtModel, BeatsAConstantByAClearMargin) {
  Regression train_set = make_regression(6000, 1), test_set = make_regression(3000, 2);
  Trained t = train(train_set, 7, nullptr);
  const double mean = std::accumulate(train_set.y.begin(), train_set.y.end(), 0.0) / train_set.n;
  const double constant = rmse(std::vector<double>(test_set.n, mean), test_set.y);
  const double model = rmse(predict_all(t.model, test_set), test_set.y);
  EXPECT_LT(model, 0.3 * constant) << "model " << model << " constant " << constant;
  EXPECT_LT(model, 0.6);  // the noise alone is 0.3
  EXPECT_GT(t.info.rounds, 20);
  EXPECT_EQ(t.info.rounds, t.info.best_round);
}

TEST(GbtModel, DeterministicForASeedWhateverTheThreads) {
  Regression data = make_regression(3000, 3), probe = make_regression(500, 4);
  ThreadPool pool(2);
  Trained a = train(data, 5, nullptr), b = train(data, 5, &pool), c = train(data, 6, nullptr);
  EXPECT_EQ(predict_all(a.model, probe), predict_all(b.model, probe));
  EXPECT_NE(predict_all(a.model, probe), predict_all(c.model, probe));
}

TEST(GbtModel, JsonRoundTripPredictsIdentically) {
  Regression data = make_regression(2000, 8), probe = make_regression(1000, 9);
  Trained t = train(data, 1, nullptr);
  std::string text = t.model.to_json().dump();
  auto back = GbtModel::from_json(Json::parse(text), "model.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->trees(), t.model.trees());
  EXPECT_EQ(predict_all(*back, probe), predict_all(t.model, probe));
}

TEST(GbtModel, RejectsBrokenTrees) {
  Json tree = {{"feature", {0, -1, -1}}, {"threshold", {0.5, 0, 0}}, {"left", {1, -1, -1}}, {"right", {0, -1, -1}},
               {"value", {0, 1, 2}}};
  Json model = {{"features", 2}, {"base", 0.0}, {"trees", {tree}}};
  auto r = GbtModel::from_json(model, "m.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("node 0 has a bad child 0"), std::string::npos) << r.error().message;
  model["trees"][0]["right"][0] = 2;
  model["trees"][0]["feature"][0] = 5;
  EXPECT_FALSE(GbtModel::from_json(model, "m.json"));
}

TEST(Conformal, CoversTheNominalShareOnHeteroscedasticData) {
  // The error grows with the prediction, as RUL errors do.
  Rng rng(21);
  auto draw = [&](size_t n, std::vector<double>& p, std::vector<double>& y) {
    for (size_t i = 0; i < n; ++i) {
      double pred = 150 * rng.uniform();
      p.push_back(pred);
      y.push_back(std::max(0.0, pred + (3 + 0.2 * pred) * rng.normal()));
    }
  };
  std::vector<double> cp, cy, tp, ty;
  draw(600, cp, cy);
  draw(20000, tp, ty);
  auto cal = ConformalCalibrator::fit(cp, cy, 0.9);
  ASSERT_TRUE(cal) << cal.error().message;
  size_t inside = 0, narrow_inside = 0, narrow = 0;
  double width_low = 0, width_high = 0;
  for (size_t i = 0; i < tp.size(); ++i) {
    Interval iv = cal->interval(tp[i]);
    inside += iv.lo <= ty[i] && ty[i] <= iv.hi;
    if (tp[i] < 30) {
      ++narrow;
      narrow_inside += iv.lo <= ty[i] && ty[i] <= iv.hi;
      width_low += iv.hi - iv.lo;
    } else if (tp[i] > 120) {
      width_high += iv.hi - iv.lo;
    }
  }
  EXPECT_NEAR(static_cast<double>(inside) / tp.size(), 0.9, 0.03);
  // Near 0 the lower bound is clipped at 0 and RUL cannot go below it: over-coverage is expected.
  EXPECT_NEAR(static_cast<double>(narrow_inside) / narrow, 0.91, 0.06);
  EXPECT_LT(width_low, width_high);  // adaptive: narrower near failure
  auto back = ConformalCalibrator::from_json(cal->to_json(), "c");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->interval(42).hi, cal->interval(42).hi);
  EXPECT_FALSE(ConformalCalibrator::fit({1}, {1}, 0.9));
  EXPECT_FALSE(ConformalCalibrator::fit({1, 2}, {1, 2}, 1.5));
}

}  // namespace
}  // namespace officina::pdm
