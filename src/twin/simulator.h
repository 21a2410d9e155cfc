// Discrete-event simulation of a validated Plant over a horizon: parts flow
// through each serial line (blocking after service when the downstream buffer
// is full, starvation when the upstream one is empty), machines fail (time
// clocks or degradation thresholds) and wait for a free maintenance crew,
// preventive and condition-based maintenance stop them, shifts pause
// production, parts are scrapped with each machine's probability, and sensors
// sample degradation + noise. Every random source has its own stream (see
// random_streams.h), so a run is a pure function of (plant, options).
// Semantics worth knowing (docs/twin.md has the full list):
//  - failure clocks run only while the machine is up and in shift;
//  - repairs and maintenance go on outside shifts, crews serve corrective
//    requests before preventive ones, each FIFO;
//  - KPIs count from `warmup` to `horizon`.
// The hot path allocates nothing per event and calls no std::function.
// Thread-safety: simulate() is reentrant; run replications on many threads.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "twin/kpi.h"
#include "twin/plant.h"

namespace officina::twin {

struct SimulationOptions {
  double horizon = 0;  // seconds; 0 uses plant.horizon
  double warmup = 0;   // seconds of statistics discarded at the start
  uint64_t seed = 1;
  bool record_sensors = false;  // keep sensor histories up to each failure
};

// The sensor history of one machine from a renewal up to a failure.
// rows: one row per sensor tick while the machine was up and in shift,
// [time_s, product, load, hours_since_renewal, sensor values...].
struct SensorRun {
  int line = 0;
  int machine = 0;       // index into Line::machines
  int failure_mode = 0;  // index into Machine::failure_modes
  std::vector<double> rows;
};

struct SimulationResult {
  RunKpis kpis;
  std::vector<SensorRun> runs;  // with record_sensors, in order of failure
  uint64_t censored_runs = 0;   // runs ended by maintenance (not exported)
};

// Fails only on bad options ("horizon: must be > 0", "warmup: must be below
// the horizon"); the plant must have passed validate_plant.
Result<SimulationResult> simulate(const Plant& plant, const SimulationOptions& options);

}  // namespace officina::twin
