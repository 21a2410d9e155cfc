// Reproducibility (seeds, threads, per-source streams), scenarios with paired
// differences, maintenance and crew semantics on small deterministic plants,
// and the run-to-failure export.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "base/thread_pool.h"
#include "test_util.h"
#include "twin/plant_parser.h"
#include "twin/plant_validator.h"
#include "twin/replication_runner.h"
#include "twin/run_export.h"
#include "twin/scenario.h"

namespace officina::twin {
namespace {

Plant demo() {
  auto plant = load_plant(std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml");
  EXPECT_TRUE(plant.has_value()) << plant.error().message;
  return *plant;
}

Plant parse(const std::string& yaml) {
  auto plant = parse_plant(yaml, "test");
  EXPECT_TRUE(plant.has_value()) << plant.error().message;
  return *plant;
}

SimulationResult run(const Plant& plant, double horizon, uint64_t seed, bool record = false) {
  SimulationOptions o;
  o.horizon = horizon;
  o.seed = seed;
  o.record_sensors = record;
  auto r = simulate(plant, o);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return *r;
}

void expect_same(const RunKpis& a, const RunKpis& b) {
  ASSERT_EQ(a.lines.size(), b.lines.size());
  for (size_t l = 0; l < a.lines.size(); ++l) {
    EXPECT_EQ(a.lines[l].kpis.items, b.lines[l].kpis.items);
    for (size_t m = 0; m < a.lines[l].machines.size(); ++m) {
      EXPECT_EQ(a.lines[l].machines[m].kpis.items, b.lines[l].machines[m].kpis.items);
    }
  }
}

TEST(Replication, SameSeedGivesIdenticalResults) {
  Plant plant = demo();
  SimulationResult a = run(plant, 30 * 86400.0, 5), b = run(plant, 30 * 86400.0, 5), c = run(plant, 30 * 86400.0, 6);
  expect_same(a.kpis, b.kpis);
  EXPECT_EQ(a.kpis.events, b.kpis.events);
  EXPECT_NE(a.kpis.lines[0].kpis.get("good_units"), c.kpis.lines[0].kpis.get("good_units"));
}

TEST(Replication, ScenarioResultsDoNotDependOnTheThreadCount) {
  Plant plant = demo();
  auto scenario = load_scenario(plant, std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/scenario-third-shift.yaml");
  ASSERT_TRUE(scenario.has_value()) << scenario.error().message;
  ReplicationOptions o;
  o.simulation.horizon = 14 * 86400.0;
  o.simulation.seed = 3;
  o.replications = 5;
  ThreadPool one(1), two(2);
  auto base1 = run_replications(plant, o, one), base2 = run_replications(plant, o, two);
  auto alt1 = run_replications(scenario->plant, o, one), alt2 = run_replications(scenario->plant, o, two);
  ASSERT_TRUE(base1 && base2 && alt1 && alt2);
  for (int r = 0; r < o.replications; ++r) {
    expect_same(base1->runs[r], base2->runs[r]);
    expect_same(alt1->runs[r], alt2->runs[r]);
  }
  RunSummary d1 = summarize_difference(alt1->runs, base1->runs), d2 = summarize_difference(alt2->runs, base2->runs);
  const Estimate* t1 = d1.lines[0].kpis.find("throughput");
  const Estimate* t2 = d2.lines[0].kpis.find("throughput");
  ASSERT_TRUE(t1 && t2);
  EXPECT_EQ(t1->mean, t2->mean);
  // A third shift adds production: the paired interval excludes zero.
  EXPECT_GT(t1->lo, 0);
}

TEST(Replication, ChangingOneLineLeavesTheOtherLinesNumbersAlone) {
  const std::string yaml = R"(
crews: 10
lines:
  - name: A
    machines:
      - name: a1
        cycle_time: {dist: exponential, mean: 1m}
        failure_modes: [{name: f, mtbf: 5h, repair_time: {dist: exponential, mean: 30m}}]
      - name: a2
        cycle_time: {dist: exponential, mean: 1m}
  - name: B
    machines:
      - name: b1
        cycle_time: {dist: exponential, mean: 2m}
)";
  Plant base = parse(yaml);
  Plant changed = base;
  changed.lines[1].machines[0].cycle_time = Distribution::fixed(30);
  changed.lines[1].machines.push_back(changed.lines[1].machines[0]);
  changed.lines[1].machines.back().name = "b2";
  changed.lines[1].buffers.push_back({0, 1, 4});
  ASSERT_TRUE(validate_plant(changed).has_value());
  SimulationResult a = run(base, 200 * 3600.0, 9), b = run(changed, 200 * 3600.0, 9);
  EXPECT_EQ(a.kpis.lines[0].kpis.items, b.kpis.lines[0].kpis.items);
  EXPECT_NE(a.kpis.lines[1].kpis.get("good_units"), b.kpis.lines[1].kpis.get("good_units"));
}

TEST(Replication, DegradationFailuresShiftsAndPreventiveMaintenanceAddUp) {
  // Wear 0.1/h with no noise fails the machine after exactly 10 h of work;
  // a 1 h repair: 100 failures in 1100 h and availability 10/11.
  Plant wear = parse(R"(
lines:
  - name: L
    machines:
      - name: m
        cycle_time: 1m
        degradation: [{name: w, rate_per_hour: 0.1}]
        failure_modes: [{name: f, degradation: w, threshold: 1, repair_time: 1h}]
)");
  RunKpis k = run(wear, 1100 * 3600.0 + 1, 1).kpis;
  EXPECT_EQ(k.lines[0].machines[0].kpis.get("failures"), 100);
  EXPECT_NEAR(k.lines[0].machines[0].kpis.get("availability"), 10.0 / 11.0, 1e-3);

  // One week of two shifts Monday to Friday: 80 planned hours at 60 parts/h.
  Plant shifts = parse(R"(
calendar: {shifts_per_day: 2, shift_hours: 8, days_per_week: 5}
lines:
  - name: L
    machines: [{name: m, cycle_time: 1m}]
)");
  k = run(shifts, 7 * 86400.0, 1).kpis;
  EXPECT_NEAR(k.lines[0].kpis.get("good_units"), 4800, 1);
  EXPECT_NEAR(k.lines[0].machines[0].kpis.get("availability"), 1, 1e-9);

  // Preventive every 100 h taking 2 h: about 1000 / 102 actions.
  Plant pm = parse(R"(
lines:
  - name: L
    machines:
      - name: m
        cycle_time: 1m
        maintenance: {policy: preventive, interval: 100h, duration: 2h}
)");
  k = run(pm, 1000 * 3600.0, 1).kpis;
  EXPECT_EQ(k.lines[0].machines[0].kpis.get("preventive_actions"), 9);
  EXPECT_NEAR(k.lines[0].machines[0].kpis.get("downtime_h.preventive"), 18, 1e-6);
}

TEST(Replication, FailuresQueueForAFreeCrew) {
  const std::string yaml = R"(
crews: 1
lines:
  - name: L
    machines:
      - {name: a, cycle_time: 1m, failure_modes: [{name: f, mtbf: 4h, repair_time: {dist: exponential, mean: 1h}}]}
      - {name: b, cycle_time: 1m, failure_modes: [{name: f, mtbf: 4h, repair_time: {dist: exponential, mean: 1h}}]}
)";
  Plant one = parse(yaml);
  Plant two = one;
  two.crews = 2;
  RunKpis k1 = run(one, 2000 * 3600.0, 4).kpis, k2 = run(two, 2000 * 3600.0, 4).kpis;
  EXPECT_GT(k1.lines[0].machines[0].kpis.get("downtime_h.waiting_crew"), 10);
  EXPECT_EQ(k2.lines[0].machines[0].kpis.get("downtime_h.waiting_crew"), 0);
  EXPECT_LT(k1.lines[0].kpis.get("throughput"), k2.lines[0].kpis.get("throughput"));
}

TEST(Scenario, OverridesAreAppliedAndBadOnesNamed) {
  Plant plant = demo();
  auto s = apply_scenario(plant, R"(
name: better-buffers
demand_scale: 2
mtbf_factor: 2
buffers: [{from: pressa, capacity: 40}]
machines:
  - {name: imballaggio, maintenance: {policy: preventive, interval: 7d, duration: 1h}}
)", "s.yaml");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->name, "better-buffers");
  EXPECT_EQ(s->plant.lines[0].buffer_after[0], 40);
  EXPECT_EQ(s->plant.lines[0].machines[5].maintenance.policy, MaintenancePolicy::kPreventive);
  EXPECT_DOUBLE_EQ(s->plant.lines[0].machines[0].failure_modes[0].time_to_failure.mean(), 2 * 180 * 3600.0);
  EXPECT_DOUBLE_EQ(s->plant.lines[0].machines[0].degradations[0].rate_per_hour, 0.002);

  auto bad = apply_scenario(plant, "machines: [{name: drill, mtbf_factor: 2}]\n", "s.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("s.yaml:1: machines[0].name: no machine named 'drill'"), std::string::npos) << bad.error().message;
  bad = apply_scenario(plant, "crews: 0\n", "s.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("crews: must be between 1"), std::string::npos) << bad.error().message;
  bad = apply_scenario(plant, "mtbf_factor: -1\nshifts: 3\n", "s.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("shifts: unknown key"), std::string::npos) << bad.error().message;
}

TEST(RunExport, WritesCmapssTextAndCsvUpToEachFailure) {
  Plant plant = parse(R"(
lines:
  - name: L
    machines:
      - name: spindle
        kind: cnc
        cycle_time: 1m
        degradation: [{name: tool, rate_per_hour: 0.05, cv: 0.2}]
        sensors:
          - {name: current, unit: A, period: 30m, noise_sd: 0.1, base: 10, gain: 5, degradation: tool}
          - {name: temp, unit: degC, period: 1h, noise_sd: 0.5, base: 40}
        failure_modes: [{name: breakage, degradation: tool, threshold: 1, repair_time: 1h}]
)");
  SimulationResult r = run(plant, 400 * 3600.0, 2, true);
  ASSERT_GE(r.runs.size(), 15u);
  test::TempDir dir;
  auto summary = export_runs(plant, {r}, dir.path("runs"));
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  EXPECT_EQ(summary->runs, r.runs.size());
  std::ifstream txt(dir.path("runs/L__spindle.txt"));
  std::string line;
  int rows = 0, last_unit = 0, last_cycle = 0;
  double first_current = 0, last_current = 0;
  while (std::getline(txt, line)) {
    std::istringstream in(line);
    int unit, cycle;
    double s1, s2, s3, current, temp;
    ASSERT_TRUE(in >> unit >> cycle >> s1 >> s2 >> s3 >> current >> temp) << line;
    std::string extra;
    EXPECT_FALSE(in >> extra) << "too many columns: " << line;
    if (unit != last_unit) {
      EXPECT_EQ(unit, last_unit + 1);
      EXPECT_EQ(cycle, 1);
      if (unit == 2) {
        EXPECT_GT(last_current, first_current + 2);  // the tool wore out
      }
      if (unit == 1) first_current = current;
    } else {
      EXPECT_EQ(cycle, last_cycle + 1);
    }
    last_unit = unit;
    last_cycle = cycle;
    last_current = current;
    ++rows;
  }
  EXPECT_EQ(last_unit, static_cast<int>(r.runs.size()));
  EXPECT_GT(rows, 300);
  std::ifstream csv(dir.path("runs/L__spindle.csv"));
  std::getline(csv, line);
  EXPECT_EQ(line, "unit,cycle,setting1,setting2,setting3,current,temp");
  std::getline(csv, line);
  EXPECT_EQ(line.rfind("1,1,", 0), 0u) << line;
  EXPECT_TRUE(std::filesystem::exists(dir.path("runs/index.json")));
}

}  // namespace
}  // namespace officina::twin
