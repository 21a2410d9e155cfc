// The plug point for remaining-useful-life models in the simulator: the
// predictive maintenance policy (plant.h, MaintenancePolicy::kPredictive)
// asks an RulEstimator at each check for a machine's health index and RUL.
// twin knows no model: the cli builds an estimator (from a pdm model
// directory, see src/cli/pdm_rul_estimator.h) and passes it in
// SimulationOptions, so twin keeps depending on base only.
//
// Readings: the rows the machine's sensors produced since its last renewal
// (repair of the failed component or maintenance), oldest first, one row per
// sensor tick while it was up and in shift, in the SensorRun layout
// [time_s, product, load, hours_since_renewal, sensor values...] (the
// columns run_export writes as "cycle setting1 setting2 setting3 sensor1..",
// the cycle being the row number from 1). rows.size() = cycles * columns.
//
// Thread-safety: replications call estimate() on many threads at once with
// the same estimator, so implementations must be safe for concurrent calls
// (const, or locking their caches).
#pragma once

#include <span>

#include "base/error.h"
#include "twin/plant.h"

namespace officina::twin {

// RUL and its bounds in seconds of simulated time (the estimator converts
// from the model's cycles); lo/hi bound a 90% interval.
struct RulEstimate {
  double health_index = 0;
  double rul = 0, rul_lo = 0, rul_hi = 0;
};

class RulEstimator {
 public:
  virtual ~RulEstimator() = default;
  // Checks, before any run, that the estimator can serve every machine of the
  // plant with a predictive policy (its model exists and reads the machine's
  // sensors); the error names the machine and what does not match.
  virtual Result<void> check(const Plant& plant) const = 0;
  // line and machine index Plant::lines and Line::machines. Fails when the
  // model cannot read the rows; the simulation then fails with the message.
  virtual Result<RulEstimate> estimate(int line, int machine, std::span<const double> rows, size_t columns) const = 0;
};

}  // namespace officina::twin
