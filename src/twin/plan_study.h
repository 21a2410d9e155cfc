// A maintenance plan, made and checked in the twin: `officina twin plan`.
//  1. The plant is put on run-to-failure (every machine corrective) — the
//     state the plan starts from — and a pilot set of replications measures
//     each machine's load (failure_forecast.h).
//  2. Failure forecasts by Monte Carlo, the plan problem, the MILP (CBC).
//  3. Three policies are simulated with the same seeds (common random
//     numbers) over the horizon: run-to-failure; the best fixed interval
//     (every machine with failure modes on preventive every T for each T of a
//     grid, then each machine takes its cheapest T, or none, and that mix is
//     simulated again); the plan (scheduled maintenance at the chosen window
//     starts). Out come the plant's total cost and OEE per policy with 95%
//     intervals and the plan's paired differences against the other two.
// The best fixed interval is chosen on the same replications it is then
// judged on, which flatters it; the plan is not fitted to them at all.
// Thread-safety: uses the given pool; call from one thread per pool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "twin/failure_forecast.h"
#include "twin/maintenance_planner.h"
#include "twin/plant.h"
#include "twin/statistics.h"

namespace officina::twin {

struct PlanStudyOptions {
  double horizon = 14 * 86400.0;
  double window = 8 * 3600.0;
  int replications = 30;
  int pilot_replications = 10;
  int forecast_paths = 1000;
  uint64_t seed = 1;
  int max_actions = 0;
  // Fixed intervals tried (seconds); those not below the horizon are skipped.
  std::vector<double> intervals = {8 * 3600.0, 12 * 3600.0, 86400.0, 1.5 * 86400, 2 * 86400.0, 3 * 86400.0,
                                   4 * 86400.0, 5 * 86400.0, 7 * 86400.0, 10 * 86400.0, 14 * 86400.0, 21 * 86400.0};
};

struct PolicyOutcome {
  std::string name;
  Estimate cost;  // total cost of the plant over the horizon (maintenance, downtime, scrap)
  Estimate oee;   // mean over lines of the line OEE
  std::vector<double> cost_runs, oee_runs;  // per replication
};

struct PlanStudy {
  std::vector<MachineForecast> forecasts;
  PlanProblem problem;
  MaintenancePlan plan;
  // Per machine (forecast order): the fixed interval chosen, 0 = run-to-failure.
  std::vector<double> fixed_interval;
  PolicyOutcome run_to_failure, best_fixed, planned;
  // Paired per replication: plan - other.
  Estimate cost_vs_run_to_failure, cost_vs_best_fixed;
  Estimate oee_vs_run_to_failure, oee_vs_best_fixed;
};

// Fails on bad options (replications outside [2, 100000], a horizon or window
// the planner refuses) or on the simulator's and solver's errors. The plant
// must be validated.
Result<PlanStudy> run_plan_study(const Plant& plant, const PlanStudyOptions& options, ThreadPool& pool);

// The plant with every machine on run-to-failure (policies switched to
// corrective; durations and parts costs kept for planned actions).
Plant run_to_failure_plant(const Plant& plant);
// The plant with the plan's actions as scheduled maintenance (window starts).
Plant planned_plant(const Plant& plant, const PlanStudy& study);

}  // namespace officina::twin
