// Presentation of a plan study (plan_study.h): fixed-width tables for people
// and JSON for tools. JSON shape (docs/twin.md, "Maintenance plan"):
//   {"plant", "horizon_s", "window_s", "crews", "replications", "seed",
//    "solver": {"name", "status", "nodes", "windows", "variables"},
//    "expected_cost",
//    "plan": [{"machine", "window_start_s", "window_end_s", "window", "in_shift", "crew", "action_cost"}],
//    "machines": [{"name", "expected_cost", "preventive_cost", "actions",
//                  "failure_probability", "rul_median_h", "fixed_interval_s"}],
//    "policies": {"run_to_failure"|"best_fixed_interval"|"plan": {"cost": {"mean","lo","hi"}, "oee": {...}}},
//    "difference": {"plan_vs_run_to_failure"|"plan_vs_best_fixed_interval": {"cost": {...}, "oee": {...}}}}
// Times in the tables read "d3 16:00": day 3 of the horizon (day 1 starts now), clock time.
// Thread-safe (pure functions).
#pragma once

#include <string>

#include "base/json_util.h"
#include "twin/plan_study.h"

namespace officina::twin {

// "d1 00:00" for 0 s.
std::string format_plan_time(double seconds);

Json plan_study_json(const Plant& plant, const PlanStudy& study, const PlanStudyOptions& options);

// The plan, one row per action, then per machine its forecast and expected cost.
std::string plan_table(const Plant& plant, const PlanStudy& study, const PlanStudyOptions& options);

// The three policies' cost and OEE with 95% intervals, and the paired differences.
std::string comparison_table(const PlanStudy& study);

// The plan as a what-if scenario (scenario.h): every machine on
// run-to-failure except the planned ones, `scheduled` at the windows'
// starts, so `twin simulate PLANT --scenario FILE` replays it.
std::string plan_scenario_yaml(const Plant& plant, const PlanStudy& study, const PlanStudyOptions& options);

}  // namespace officina::twin
