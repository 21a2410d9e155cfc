// The predictive maintenance policy: with a stand-in estimator whose RUL is
// known exactly it acts at the first check where the lower bound falls below
// the lead time; without an estimator, or with bad settings, it is refused
// with errors that name the place; and end to end through the binary a GBT
// model trained on the twin's own run-to-failure export cuts failures and
// cost against run-to-failure.
#include <atomic>
#include <cmath>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "base/json_util.h"
#include "base/mapped_file.h"
#include "test_util.h"
#include "twin/live_runner.h"
#include "twin/plant_parser.h"
#include "twin/replication_runner.h"
#include "twin/simulator.h"
#include "twin/telemetry_message.h"

namespace officina::twin {
namespace {

// One machine, 24/7, a fixed 100 s cycle and deterministic wear that reaches
// the failure threshold after exactly 10 h of processing; one sensor a minute.
const char* kPlant = R"(
name: wear
crews: 1
costs: {downtime_per_hour: 100, labour_per_hour: 10}
lines:
  - name: l
    machines:
      - name: m
        cycle_time: 100s
        degradation:
          - {name: w, rate_per_hour: 0.1, cv: 0}
        sensors:
          - {name: s, period: 60s, base: 1, gain: 1, degradation: w}
        failure_modes:
          - {name: worn, degradation: w, threshold: 1.0, repair_time: 1h, parts_cost: 500}
        maintenance: {policy: predictive, model: some/dir, lead_time: 2h, check_every: 30m, duration: 1h, parts_cost: 50}
)";

// RUL = 10 h minus the hours since renewal of the newest row, +-1 h.
class StandIn : public RulEstimator {
 public:
  Result<void> check(const Plant&) const override { return {}; }
  Result<RulEstimate> estimate(int line, int machine, std::span<const double> rows, size_t columns) const override {
    EXPECT_EQ(line, 0);
    EXPECT_EQ(machine, 0);
    EXPECT_EQ(columns, 5u);  // time, product, load, hours, one sensor
    calls.fetch_add(1);
    const double hours = rows[rows.size() - columns + 3];
    RulEstimate e;
    e.rul = std::max(0.0, 10 - hours) * 3600;
    e.rul_lo = e.rul - 3600;
    e.rul_hi = e.rul + 3600;
    e.health_index = hours / 10;
    return e;
  }
  mutable std::atomic<int> calls{0};
};

class Failing : public RulEstimator {
 public:
  Result<void> check(const Plant&) const override { return {}; }
  Result<RulEstimate> estimate(int, int, std::span<const double>, size_t) const override {
    return fail("model says no");
  }
};

Plant parse(const std::string& yaml) {
  auto plant = parse_plant(yaml, "test.yaml");
  EXPECT_TRUE(plant.has_value()) << plant.error().message;
  return plant.value_or(Plant{});
}

TEST(PredictivePolicy, ActsAtTheFirstCheckWhereTheLowerBoundIsBelowTheLeadTime) {
  Plant plant = parse(kPlant);
  StandIn est;
  SimulationOptions o;
  o.horizon = 8 * 3600.0;
  o.estimator = &est;
  auto r = simulate(plant, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const KpiSet& k = r->kpis.lines[0].machines[0].kpis;
  // lo < 2 h means hours since renewal > 7 h: the 7.5 h check, not the 7 h one.
  EXPECT_EQ(k.get("predictive_actions"), 1);
  EXPECT_EQ(k.get("preventive_actions"), 1);
  EXPECT_EQ(k.get("failures"), 0);
  EXPECT_NEAR(k.get("downtime_h.preventive"), 0.5, 1e-6);  // 7.5 h to the horizon at 8 h
  EXPECT_EQ(est.calls.load(), 15);                          // checks at 0.5 .. 7.5 h
  EXPECT_NEAR(k.get("rul_lo_h"), 10 - 7.5 - 1, 0.05);       // the last estimate is kept
}

TEST(PredictivePolicy, NeverFailsAndIsDeterministicAcrossThreads) {
  Plant plant = parse(kPlant);
  StandIn est;
  ReplicationOptions o;
  o.simulation.horizon = 200 * 3600.0;
  o.simulation.estimator = &est;
  o.replications = 6;
  ThreadPool one(1), many(4);
  auto a = run_replications(plant, o, one);
  auto b = run_replications(plant, o, many);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  ASSERT_TRUE(b.has_value());
  for (size_t r = 0; r < a->runs.size(); ++r) {
    const KpiSet& ka = a->runs[r].lines[0].machines[0].kpis;
    const KpiSet& kb = b->runs[r].lines[0].machines[0].kpis;
    EXPECT_EQ(ka.get("failures"), 0);
    EXPECT_GT(ka.get("predictive_actions"), 20);
    EXPECT_EQ(ka.items, kb.items);
  }
}

TEST(PredictivePolicy, RefusedWithoutAnEstimatorAndStopsOnItsError) {
  Plant plant = parse(kPlant);
  SimulationOptions o;
  o.horizon = 3600 * 8.0;
  auto r = simulate(plant, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("l/m: the predictive policy needs an RUL model"), std::string::npos) << r.error().message;
  Failing bad;
  o.estimator = &bad;
  r = simulate(plant, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("l/m at t=1800s: model says no"), std::string::npos) << r.error().message;
}

TEST(PredictivePolicy, YamlErrorsNameThePath) {
  const std::string good = "maintenance: {policy: predictive, model: some/dir, lead_time: 2h, check_every: 30m, duration: 1h, parts_cost: 50}";
  auto with = [&](const std::string& maintenance) {
    std::string yaml = kPlant;
    yaml.replace(yaml.find(good), good.size(), maintenance);
    return parse_plant(yaml, "test.yaml");
  };
  auto expect_error = [&](const std::string& maintenance, const std::string& needle) {
    auto p = with(maintenance);
    ASSERT_FALSE(p.has_value()) << maintenance;
    EXPECT_NE(p.error().message.find(needle), std::string::npos) << p.error().message;
  };
  expect_error("maintenance: {policy: predictive, lead_time: 2h}", "lines[0].machines[0].maintenance.model: missing");
  expect_error("maintenance: {policy: predictive, model: d}", "lines[0].machines[0].maintenance.lead_time: missing");
  expect_error("maintenance: {policy: predictive, model: d, lead_time: 0}", "lines[0].machines[0].maintenance.lead_time: must be > 0");
  expect_error("maintenance: {policy: predictive, model: d, lead_time: 1h, check_every: 0}",
               "lines[0].machines[0].maintenance.check_every: must be > 0");
  auto p = with(good);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->lines[0].machines[0].maintenance.lead_time, 7200);
  EXPECT_EQ(p->lines[0].machines[0].maintenance.check_every, 1800);
}

TEST(PredictivePolicy, HealthTopicAndPayload) {
  HealthUpdate h{"Demo plant", "linea", "forno", 1718000000.5, RulEstimate{1.25, 7200, 3600, 10800}};
  EXPECT_EQ(health_topic(h), "officina/Demo_plant/linea/forno/health");
  auto json = parse_json(health_payload(h), "payload");
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ((*json)["ts"], 1718000000.5);
  EXPECT_EQ((*json)["health_index"], 1.25);
  EXPECT_EQ((*json)["rul"], 7200);
  EXPECT_EQ((*json)["rul_lo"], 3600);
  EXPECT_EQ((*json)["rul_hi"], 10800);
}

// Live mode hands each estimate to the sink (the publisher sends it on the
// health topic).
class HealthSink : public TelemetrySink {
 public:
  bool on_reading(const Reading&) override { return true; }
  bool on_state(const StateChange&) override { return true; }
  bool on_health(const HealthUpdate& h) override {
    updates.push_back(h);
    return true;
  }
  std::vector<HealthUpdate> updates;
};

TEST(PredictivePolicy, LiveModeReportsEachEstimate) {
  Plant plant = parse(kPlant);
  StandIn est;
  HealthSink sink;
  LiveOptions o;
  o.duration = 8 * 3600.0;
  o.speed = 0;
  o.anchor_unix = 1000;
  o.estimator = &est;
  auto r = run_live(plant, o, sink);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(sink.updates.size(), 15u);
  EXPECT_EQ(sink.updates[0].machine, "m");
  EXPECT_EQ(sink.updates[0].ts, 1000 + 1800);
  EXPECT_NEAR(sink.updates.back().estimate.rul_lo, (10 - 7.5 - 1) * 3600, 200);
}

}  // namespace
}  // namespace officina::twin
