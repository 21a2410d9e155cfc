#include "pdm/health_model.h"

#include <gtest/gtest.h>

#include "base/random.h"

namespace officina::pdm {
namespace {

// [n, k] rows of independent noise with the given per-sensor scales, EWMA
// smoothed like the preprocessor does (so neighbouring rows are correlated).
std::vector<double> noise_rows(size_t n, const std::vector<double>& scale, Rng& rng, double alpha = 0.3) {
  const size_t k = scale.size();
  std::vector<double> rows(n * k), ewma(k, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < k; ++j) {
      double z = scale[j] * rng.normal();
      ewma[j] = i == 0 ? z : alpha * z + (1 - alpha) * ewma[j];
      rows[i * k + j] = ewma[j];
    }
  }
  return rows;
}

std::vector<int64_t> cycles_of(size_t n) {
  std::vector<int64_t> c(n);
  for (size_t i = 0; i < n; ++i) c[i] = static_cast<int64_t>(i + 1);
  return c;
}

const std::vector<double> kScales = {1.0, 0.5, 2.0, 1.0, 1.0};

TEST(HealthModel, NoAlarmsOnStationaryNoise) {
  Rng rng(11);
  auto model = HealthModel::fit(noise_rows(20000, kScales, rng), kScales.size(), {});
  ASSERT_TRUE(model) << model.error().message;
  size_t alarms = 0;
  for (int unit = 0; unit < 40; ++unit) {
    std::vector<double> z = noise_rows(300, kScales, rng);
    alarms += model->alarms(unit, cycles_of(300), z).size();
  }
  EXPECT_EQ(alarms, 0u);
  // A healthy unit's index sits around 1.
  std::vector<double> hi = model->health_index(noise_rows(5000, kScales, rng));
  double mean = 0;
  for (double h : hi) mean += h;
  EXPECT_NEAR(mean / hi.size(), 0.95, 0.15);
}

TEST(HealthModel, DetectsAnInjectedDriftAndNamesTheSensor) {
  Rng rng(12);
  auto model = HealthModel::fit(noise_rows(20000, kScales, rng), kScales.size(), {});
  ASSERT_TRUE(model) << model.error().message;
  size_t detected = 0;
  for (int unit = 0; unit < 20; ++unit) {
    const size_t n = 300, onset = 150;
    std::vector<double> z = noise_rows(n, kScales, rng);
    // Sensor 2 (scale 2) drifts linearly from the onset, 0.1 units per cycle.
    for (size_t t = onset; t < n; ++t) z[t * kScales.size() + 2] += 0.1 * static_cast<double>(t - onset);
    std::vector<Alarm> alarms = model->alarms(unit, cycles_of(n), z);
    ASSERT_FALSE(alarms.empty()) << "unit " << unit;
    const Alarm& a = alarms.back();
    EXPECT_GT(a.start_cycle, static_cast<int64_t>(onset));  // not before the drift...
    EXPECT_LT(a.start_cycle, static_cast<int64_t>(onset + 100));  // ...and not long after
    EXPECT_TRUE(a.open);
    EXPECT_EQ(a.end_cycle, static_cast<int64_t>(n));
    ASSERT_FALSE(a.drivers.empty());
    EXPECT_EQ(a.drivers[0], 2u);
    // A slow drift may cross the threshold, fall back under it in the noise
    // and cross again; what must not happen is an alarm before the drift.
    detected += alarms.front().start_cycle > static_cast<int64_t>(onset);
  }
  EXPECT_EQ(detected, 20u);
}

TEST(HealthModel, HysteresisKeepsOneAlarmThroughADip) {
  Rng rng(13);
  const std::vector<double> scales = {1.0, 1.0};
  auto model = HealthModel::fit(noise_rows(20000, scales, rng, 1.0), 2, {});
  ASSERT_TRUE(model) << model.error().message;
  const double on = model->on_threshold(), off = model->off_threshold();
  ASSERT_LT(off, on);
  // Rows mean + c e1 have HI = |c| sqrt(P11 / k), so any wanted index is one scale away.
  const std::vector<double> mean = model->to_json()["mean"].get<std::vector<double>>();
  const double unit_hi = model->health_index({mean[0] + 1, mean[1]})[0];
  auto row_for = [&](double target) { return std::vector<double>{mean[0] + target / unit_hi, mean[1]}; };
  std::vector<double> levels;
  for (int i = 0; i < 10; ++i) levels.push_back(0.2 * off);      // healthy
  for (int i = 0; i < 5; ++i) levels.push_back(1.2 * on);        // over on: opens
  for (int i = 0; i < 8; ++i) levels.push_back((on + off) / 2);  // between: stays open
  for (int i = 0; i < 2; ++i) levels.push_back(0.5 * off);       // a short dip below off
  for (int i = 0; i < 5; ++i) levels.push_back(1.1 * on);
  for (int i = 0; i < 6; ++i) levels.push_back(0.5 * off);       // long enough below off: closes
  for (int i = 0; i < 2; ++i) levels.push_back(1.5 * on);        // too short to open again
  for (int i = 0; i < 5; ++i) levels.push_back(0.2 * off);
  std::vector<double> z;
  for (double l : levels) {
    auto r = row_for(l);
    z.insert(z.end(), r.begin(), r.end());
  }
  std::vector<Alarm> alarms = model->alarms(9, cycles_of(levels.size()), z);
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].unit, 9);
  EXPECT_EQ(alarms[0].start_cycle, 11);
  EXPECT_EQ(alarms[0].end_cycle, 30);  // the last cycle before the closing run below off
  EXPECT_FALSE(alarms[0].open);
  EXPECT_NEAR(alarms[0].peak, 1.2 * on, 1e-9 * on);
}

TEST(HealthModel, SurvivesConstantAndCollinearSensorsAndRoundTrips) {
  Rng rng(14);
  std::vector<double> rows;
  for (int i = 0; i < 500; ++i) {
    double a = rng.normal();
    rows.insert(rows.end(), {a, 2 * a, 0.0});  // collinear pair and a constant
  }
  auto model = HealthModel::fit(rows, 3, {});
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_GT(model->shrinkage(), 0.0);
  auto back = HealthModel::from_json(model->to_json(), "health");
  ASSERT_TRUE(back) << back.error().message;
  std::vector<double> probe = {0.3, -1.0, 0.2};
  EXPECT_EQ(back->health_index(probe), model->health_index(probe));
  EXPECT_FALSE(HealthModel::fit({1.0, 2.0}, 2, {}));  // one row is not a baseline
}

}  // namespace
}  // namespace officina::pdm
