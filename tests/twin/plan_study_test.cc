// Scheduled maintenance in the simulator, failure forecasts against cases
// with known answers, the plan problem built from a plant, and the demo
// plant's plan checked by simulation against run-to-failure and the best
// fixed interval.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "base/thread_pool.h"
#include "twin/failure_forecast.h"
#include "twin/plan_report.h"
#include "twin/plan_study.h"
#include "twin/plant_parser.h"
#include "twin/replication_runner.h"
#include "twin/scenario.h"
#include "twin/simulator.h"

namespace officina::twin {
namespace {

Plant parse(const std::string& yaml) {
  auto plant = parse_plant(yaml, "test");
  EXPECT_TRUE(plant.has_value()) << plant.error().message;
  return *plant;
}

// One machine, 24/7, a fixed 100 s cycle and deterministic wear that reaches
// the threshold after exactly 10 h of processing.
const char* kWearPlant = R"(
name: wear
crews: 1
calendar: {shifts_per_day: 3, shift_hours: 8, days_per_week: 7}
costs: {downtime_per_hour: 100, labour_per_hour: 10}
lines:
  - name: l
    machines:
      - name: m
        cycle_time: 100s
        degradation:
          - {name: w, rate_per_hour: 0.1, cv: 0}
        failure_modes:
          - {name: worn, degradation: w, threshold: 1.0, repair_time: 1h, parts_cost: 500}
        maintenance: {policy: corrective, duration: 30m, parts_cost: 50}
)";

TEST(ScheduledMaintenance, ActsAtTheGivenTimesAndRenews) {
  Plant plant = parse(kWearPlant);
  Maintenance& mt = plant.lines[0].machines[0].maintenance;
  mt.policy = MaintenancePolicy::kScheduled;
  mt.at = {8 * 3600.0, 16 * 3600.0, 24 * 3600.0, 48 * 3600.0};  // the last is past the horizon
  SimulationOptions o;
  o.horizon = 30 * 3600.0;
  auto r = simulate(plant, o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const KpiSet& k = r->kpis.lines[0].machines[0].kpis;
  EXPECT_EQ(k.get("preventive_actions"), 3);
  // Renewed every 8 h (+ 30 min down), wear never reaches 10 h of processing.
  EXPECT_EQ(k.get("failures"), 0);
  EXPECT_NEAR(k.get("downtime_h.preventive"), 1.5, 1e-6);

  mt.policy = MaintenancePolicy::kCorrective;
  auto rtf = simulate(plant, o);
  ASSERT_TRUE(rtf.has_value());
  EXPECT_EQ(rtf->kpis.lines[0].machines[0].kpis.get("failures"), 2);  // at 10 h and 21 h
}

TEST(ScheduledMaintenance, ReadFromYamlWithClearErrors) {
  std::string yaml = kWearPlant;
  const std::string corrective = "maintenance: {policy: corrective, duration: 30m, parts_cost: 50}";
  auto with = [&](const std::string& mt) {
    std::string text = yaml;
    text.replace(text.find(corrective), corrective.size(), mt);
    return parse_plant(text, "plan.yaml");
  };
  auto ok = with("maintenance: {policy: scheduled, at: [8h, 57600, 1d], duration: 30m}");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->lines[0].machines[0].maintenance.policy, MaintenancePolicy::kScheduled);
  EXPECT_EQ(ok->lines[0].machines[0].maintenance.at, (std::vector<double>{8 * 3600.0, 16 * 3600.0, 86400.0}));
  auto missing = with("maintenance: {policy: scheduled}");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("maintenance.at: missing"), std::string::npos) << missing.error().message;
  auto bad = with("maintenance: {policy: scheduled, at: [8h, soon]}");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("maintenance.at[1]"), std::string::npos) << bad.error().message;
  auto unsorted = with("maintenance: {policy: scheduled, at: [8h, 2h]}");
  ASSERT_FALSE(unsorted.has_value());
  EXPECT_NE(unsorted.error().message.find("ascending"), std::string::npos) << unsorted.error().message;
}

TEST(FailureForecast, DeterministicWearFailsWhenTheTheoryPredicts) {
  Plant plant = parse(kWearPlant);
  ForecastOptions o;
  o.horizon = 30 * 3600.0;
  o.paths = 20;
  // Load 0.5: 10 h of processing take 20 planned hours.
  auto f = forecast_failures(plant, o, {{0.5}});
  ASSERT_TRUE(f.has_value()) << f.error().message;
  const MachineForecast& m = (*f)[0];
  EXPECT_NEAR(m.rul_quantile(0.5), 20 * 3600.0, 200);
  EXPECT_EQ(m.failure_probability(19.9 * 3600), 0);
  EXPECT_EQ(m.failure_probability(20.1 * 3600), 1);
  const double one = failure_cost(plant, plant.lines[0].machines[0].failure_modes[0]);
  EXPECT_DOUBLE_EQ(one, 500 + 1 * (10 + 100));
  EXPECT_NEAR(m.cost_within(19 * 3600), 0, 1e-9);
  EXPECT_NEAR(m.cost_within(21 * 3600), one, 1e-6);
  EXPECT_NEAR(m.cost_within(30 * 3600), one, 1e-6);  // the second failure would be at 40 h
}

TEST(FailureForecast, AWornMachineFailsSoonerFromNowThanFromARenewal) {
  Plant plant = parse(kWearPlant);
  plant.lines[0].machines[0].degradations[0].initial = 0.5;
  ForecastOptions o;
  o.horizon = 30 * 3600.0;
  o.paths = 20;
  auto f = forecast_failures(plant, o, {{0.5}});
  ASSERT_TRUE(f.has_value()) << f.error().message;
  const MachineForecast& m = (*f)[0];
  const double one = failure_cost(plant, plant.lines[0].machines[0].failure_modes[0]);
  EXPECT_NEAR(m.rul_quantile(0.5), 10 * 3600.0, 250);  // half the life left
  EXPECT_NEAR(m.cost_within(11 * 3600, true), one, 1e-6);
  EXPECT_NEAR(m.cost_within(11 * 3600, false), 0, 1e-9);
  EXPECT_NEAR(m.cost_within(29 * 3600, true), one, 1e-6);  // the next one after 20 more hours
  EXPECT_NEAR(m.cost_within(21 * 3600, false), one, 1e-6);

  // The simulator starts from the same state: the first failure at 5 h of processing.
  plant.calendar = Calendar{3, 8, 7};
  SimulationOptions so;
  so.horizon = 6 * 3600.0;
  auto r = simulate(plant, so);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kpis.lines[0].machines[0].kpis.get("failures"), 1);
  auto bad = parse_plant("name: x\nlines: [{name: l, machines: [{name: m, cycle_time: 60s, degradation: [{name: w, rate_per_hour: 1, initial: -1}]}]}]\n", "bad.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("degradation[0].initial: must be finite and >= 0"), std::string::npos) << bad.error().message;
}

TEST(FailureForecast, ExponentialFailuresMatchTheirRate) {
  Plant plant = parse(R"(
name: exp
calendar: {shifts_per_day: 1, shift_hours: 8, days_per_week: 5}
costs: {downtime_per_hour: 0, labour_per_hour: 0}
lines:
  - name: l
    machines:
      - name: m
        cycle_time: 60s
        failure_modes:
          - {name: f, mtbf: 10h, repair_time: 1h, parts_cost: 1}
)");
  ForecastOptions o;
  o.horizon = 7 * 86400.0;  // 40 planned hours
  o.paths = 4000;
  auto f = forecast_failures(plant, o, {{1.0}});
  ASSERT_TRUE(f.has_value()) << f.error().message;
  // A Poisson process renewed at each failure: 4 failures expected, sd of the mean 2/sqrt(4000).
  EXPECT_NEAR((*f)[0].cost_within(40 * 3600.0), 4.0, 0.15);
  EXPECT_NEAR((*f)[0].failure_probability(10 * 3600.0), 1 - std::exp(-1.0), 0.03);
}

TEST(PlanProblemBuild, OffShiftWindowsCostNoLostProduction) {
  Plant plant = parse(kWearPlant);
  plant.calendar = Calendar{2, 8, 5};
  ForecastOptions fo;
  fo.horizon = 2 * 86400.0;
  fo.paths = 10;
  auto f = forecast_failures(plant, fo, {{0.5}});
  ASSERT_TRUE(f.has_value());
  auto p = build_plan_problem(plant, *f, PlanBuildOptions{2 * 86400.0, 8 * 3600.0, 0});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  ASSERT_EQ(p->windows.size(), 6u);
  // 00-08 in shift, 08-16 in shift, 16-24 off shift.
  EXPECT_TRUE(p->windows[0].in_shift);
  EXPECT_FALSE(p->windows[2].in_shift);
  EXPECT_DOUBLE_EQ(p->machines[0].pm_cost[2], 50 + 0.5 * 10);
  EXPECT_DOUBLE_EQ(p->machines[0].pm_cost[1], 50 + 0.5 * 10 + 0.5 * 100);

  auto bad = build_plan_problem(plant, *f, PlanBuildOptions{2 * 86400.0, 10, 0});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("window must be between 1 minute and the horizon"), std::string::npos);
  bad = build_plan_problem(plant, *f, PlanBuildOptions{0, 8 * 3600.0, 0});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("plan horizon"), std::string::npos) << bad.error().message;
  bad = build_plan_problem(plant, *f, PlanBuildOptions{86400.0 * 4000, 8 * 3600.0, 0});
  ASSERT_FALSE(bad.has_value());
  bad = build_plan_problem(plant, {}, PlanBuildOptions{});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("no machines to plan"), std::string::npos);
  auto no_loads = forecast_failures(plant, fo, {});
  ASSERT_FALSE(no_loads.has_value());
  auto negative = forecast_failures(plant, fo, {{-1.0}});
  ASSERT_FALSE(negative.has_value());
  EXPECT_NE(negative.error().message.find("must be finite and >= 0"), std::string::npos);
}

// The acceptance check: on the demo plant (from run-to-failure, its shipped
// policies replaced), the MILP plan costs less than run-to-failure and than
// the best fixed interval, and the 95% intervals of the paired differences
// lie below zero.
TEST(PlanStudy, DemoPlanBeatsRunToFailureAndBestFixedInterval) {
  auto plant = load_plant(std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml");
  ASSERT_TRUE(plant.has_value()) << plant.error().message;
  ThreadPool pool(2);
  PlanStudyOptions o;
  o.horizon = 14 * 86400.0;
  o.replications = 30;
  o.seed = 1;
  auto study = run_plan_study(*plant, o, pool);
  ASSERT_TRUE(study.has_value()) << study.error().message;
  EXPECT_EQ(study->plan.status, "optimal");
  std::vector<int> used(study->problem.windows.size(), 0);
  int actions = 0;
  for (const MachinePlan& m : study->plan.machines) {
    for (int w : m.windows) ++used[w], ++actions;
  }
  EXPECT_GT(actions, 0);
  for (int u : used) EXPECT_LE(u, plant->crews);
  EXPECT_LT(study->cost_vs_run_to_failure.hi, 0) << "plan - run-to-failure: " << study->cost_vs_run_to_failure.mean;
  EXPECT_LT(study->cost_vs_best_fixed.hi, 0) << "plan - best fixed: " << study->cost_vs_best_fixed.mean;
  EXPECT_LT(study->planned.cost.mean, study->run_to_failure.cost.mean);
  EXPECT_LT(study->planned.cost.mean, study->best_fixed.cost.mean);

  // The plan as a scenario replays to the very same runs.
  auto scenario = apply_scenario(*plant, plan_scenario_yaml(*plant, *study, o), "plan.yaml");
  ASSERT_TRUE(scenario.has_value()) << scenario.error().message;
  ReplicationOptions ro;
  ro.simulation.horizon = o.horizon;
  ro.simulation.seed = o.seed;
  ro.replications = o.replications;
  auto replay = run_replications(scenario->plant, ro, pool);
  ASSERT_TRUE(replay.has_value());
  for (int r = 0; r < o.replications; ++r) {
    EXPECT_EQ(replay->runs[r].lines[0].kpis.get("total_cost"), study->planned.cost_runs[r]) << "replication " << r;
  }

  // Same inputs, same study.
  auto again = run_plan_study(*plant, o, pool);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->plan.expected_cost, study->plan.expected_cost);
  EXPECT_EQ(again->planned.cost_runs, study->planned.cost_runs);
}

TEST(PlanStudy, RefusesTooFewReplications) {
  auto plant = load_plant(std::string(OFFICINA_SOURCE_DIR) + "/examples/plants/demo-packaging-line.yaml");
  ASSERT_TRUE(plant.has_value());
  ThreadPool pool(1);
  PlanStudyOptions o;
  o.replications = 1;
  auto study = run_plan_study(*plant, o, pool);
  ASSERT_FALSE(study.has_value());
  EXPECT_NE(study.error().message.find("--replications"), std::string::npos);
}

}  // namespace
}  // namespace officina::twin
