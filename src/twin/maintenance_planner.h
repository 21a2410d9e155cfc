// Maintenance-plan optimisation: which machines get a preventive action in
// which candidate windows over a horizon, at least expected cost, with at
// most `crews` actions starting in any one window.
//
// The problem is stated in costs that failure_forecast.h derives from the
// plant (per-machine failure-time distributions by Monte Carlo, the shift
// calendar, crews and costs), so the optimiser itself knows nothing about
// plants. Each machine's plan is a path through time: start (its current
// state) -> chosen windows -> horizon. A preventive action renews the
// machine, so the expected failure cost of a plan is the sum, over the
// segments between consecutive renewals, of the expected failure cost of a
// segment that starts from a renewal (or, for the first, from the current
// state). That makes the problem a shortest path per machine, coupled by the
// crew limit per window, which solve_plan() states as a MILP over CBC:
//   x[m][i][j] in {0, 1}: machine m renews at node i and next at node j > i,
//     nodes 0 = now, 1..W = windows, W + 1 = horizon;
//   min   sum x[m][i][j] * (segment_cost[m](i, j) + pm_cost[m][j - 1] if j <= W)
//   s.t.  sum_j x[m][0][j] = 1;  for k in 1..W: sum_i x[m][i][k] = sum_j x[m][k][j];
//         for k in 1..W: sum_m sum_i x[m][i][k] <= crews;
//         optional: sum_i sum_{k<=W} x[m][i][k] <= max_actions.
// solve_plan_brute_force() enumerates every combination (tiny instances
// only) and is what the tests hold the MILP to.
// Both return errors for bad problems (see validate_plan_problem) and are
// deterministic; thread-safe (no shared state; CBC runs single-threaded).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace officina::twin {

// A candidate window: a preventive action starts at `start`; `end` bounds
// the window for reporting and for the crew limit (actions in one window
// share the crews). Seconds from now.
struct PlanWindow {
  double start = 0;
  double end = 0;
  bool in_shift = false;  // for reporting: does an action here stop production
};

struct PlanMachine {
  std::string name;
  // pm_cost[w]: cost of one preventive action started in window w (parts,
  // labour, lost production).
  std::vector<double> pm_cost;
  // Expected failure cost between renewal node i and node j (i < j; nodes as
  // above), row-major [(W + 1) rows, (W + 2) columns]: segment_cost[i * (W + 2) + j].
  std::vector<double> segment_cost;

  double segment(size_t windows, size_t i, size_t j) const { return segment_cost[i * (windows + 2) + j]; }
};

struct PlanProblem {
  double horizon = 0;  // seconds
  int crews = 1;
  int max_actions = 0;  // per machine over the horizon; 0 = no limit
  std::vector<PlanWindow> windows;
  std::vector<PlanMachine> machines;
};

struct MachinePlan {
  std::string name;
  std::vector<int> windows;     // chosen window indices, ascending
  double expected_cost = 0;     // preventive + expected failure cost of this machine
  double preventive_cost = 0;   // the preventive part of it
};

struct MaintenancePlan {
  std::vector<MachinePlan> machines;  // in the problem's order
  double expected_cost = 0;           // the objective
  std::string status;                 // "optimal", or why the answer may not be
  std::string solver;                 // "cbc" or "brute-force"
  int nodes = 0;                      // branch-and-bound nodes (CBC)
};

// Ok, or an error naming the first bad field: no machines, no windows, crews
// < 1, a horizon <= 0 or beyond ten years, windows not ascending, overlapping
// or outside [0, horizon), cost vectors of the wrong size, negative or
// non-finite costs, more than 2 million variables (machines x (W + 1)(W + 2) / 2).
Result<void> validate_plan_problem(const PlanProblem& problem);

struct PlanSolveOptions {
  double time_limit_s = 120;  // CBC stops and reports "time limit" beyond it
};

// The optimal plan by MILP (CBC). Fails on a bad problem, or when CBC finds
// no feasible plan (it always exists: no actions at all is feasible).
Result<MaintenancePlan> solve_plan(const PlanProblem& problem, const PlanSolveOptions& options = {});

// The optimal plan by enumeration; refuses problems with more than 2^20
// combinations per machine or 10^7 in all.
Result<MaintenancePlan> solve_plan_brute_force(const PlanProblem& problem);

// The expected cost of given window choices (one ascending list per machine),
// the objective both solvers minimise; filled into a MaintenancePlan.
MaintenancePlan evaluate_plan(const PlanProblem& problem, const std::vector<std::vector<int>>& choice);

}  // namespace officina::twin
