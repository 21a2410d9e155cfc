// Per-machine failure forecasts for maintenance planning, and the plan
// problem (maintenance_planner.h) built from them.
//
// The forecast is a Monte-Carlo of each machine's own failure process taken
// from the plant model, not a learned RUL model: the simulator's plant is the
// ground truth here, and the pdm models estimate the same thing from sensors.
// Time is planned production time (the shift calendar; failure clocks and
// wear stop outside shifts). Wear grows per part processed, at the rate the
// machine's load allows: load = server-seconds of processing per planned
// second, sampled per path from a pilot simulation of the plant, so the
// forecast carries the run-to-run spread of blocking and starvation. A
// failure's repair renews the failed mode only (like the simulator); a
// preventive action renews the machine. The current state is the simulator's
// start: wear states at their `initial` values (0 for a new machine), fresh
// failure clocks. Repair time does not consume life (a small optimism for
// machines that fail often).
// Out of it: the expected cumulative failure cost over planned time from now
// and from a renewal, and the distribution of the first failure time from
// now (the RUL).
// Deterministic for a seed; thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "base/error.h"
#include "twin/maintenance_planner.h"
#include "twin/plant.h"

namespace officina::twin {

struct MachineForecast {
  int line = 0;
  int machine = 0;       // index into Line::machines
  std::string name;      // "machine", or "line/machine" in plants with several lines
  double mean_load = 0;  // server-seconds of processing per planned second
  double step = 900;     // planned seconds between points of expected_cost
  // expected_cost[k]: expected failure cost (parts, labour, lost production)
  // of the failures in the first k * step planned seconds after a renewal;
  // expected_cost_now the same from the current state.
  std::vector<double> expected_cost, expected_cost_now;
  // Planned seconds to the first failure per path, ascending; infinity for a
  // path without failure before the horizon's planned time.
  std::vector<double> first_failure;

  // Linear interpolation of expected_cost (from_now: expected_cost_now) at
  // planned seconds x (clamped).
  double cost_within(double planned_seconds, bool from_now = false) const;
  // P(first failure within planned_seconds).
  double failure_probability(double planned_seconds) const;
  // The q-quantile of the time to first failure (infinity beyond the horizon).
  double rul_quantile(double q) const;
};

struct ForecastOptions {
  double horizon = 14 * 86400.0;  // wall-clock seconds from now
  int paths = 1000;               // Monte-Carlo paths per machine
  uint64_t seed = 1;
};

// loads[i]: pilot samples of the load of the i-th machine of the plant
// (lines in order, machines in Line::machines order), at least one each.
// Fails on a horizon outside (0, ten years], paths outside [1, 10^6] or
// loads of the wrong shape / negative. The plant must be validated.
Result<std::vector<MachineForecast>> forecast_failures(const Plant& plant, const ForecastOptions& options,
                                                       const std::vector<std::vector<double>>& loads);

struct PlanBuildOptions {
  double horizon = 14 * 86400.0;
  double window = 8 * 3600.0;  // candidate windows start every `window` seconds from now
  int max_actions = 0;         // per machine; 0 = no limit
};

// The plan problem over the forecasts: windows [k * window, (k + 1) * window),
// a preventive action costing the machine's maintenance parts, labour for its
// mean duration and lost production for the planned time it covers; crews =
// plant.crews. Fails on a window outside [1 minute, horizon] or more than
// 2000 windows.
Result<PlanProblem> build_plan_problem(const Plant& plant, const std::vector<MachineForecast>& forecasts,
                                       const PlanBuildOptions& options);

// The cost of one failure of mode f of machine m: parts + mean repair hours
// x (labour + lost production per hour).
double failure_cost(const Plant& plant, const FailureMode& mode);

}  // namespace officina::twin
