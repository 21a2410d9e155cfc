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
#include "twin/rul_estimator.h"

namespace officina::twin {

// What a machine is doing, as live telemetry reports it: processing a part
// (or setting up), out of shift, holding a finished part, waiting for one,
// failed (waiting for a crew or under repair), under maintenance.
enum class MachineStatus : uint8_t { kRunning, kIdle, kBlocked, kStarved, kDown, kMaintenance };

// Watches a run as it happens (live mode). Called on the simulating thread,
// which waits for each call, so an observer may pace the run against the wall
// clock. line and machine index Plant::lines and Line::machines, sensor
// Machine::sensors. Use with simulate() only (replications run on many threads).
class SimulationObserver {
 public:
  virtual ~SimulationObserver() = default;
  // Before the events at time t (non-decreasing); false ends the run at t.
  virtual bool on_time(double t) = 0;
  virtual void on_sensor(int line, int machine, int sensor, double t, double value) = 0;
  // After the events at t, for each machine whose status changed (all of
  // them after the first event); several calls may share one t.
  virtual void on_status(int line, int machine, double t, MachineStatus status) = 0;
  // After each estimate of a machine under the predictive policy.
  virtual void on_health(int line, int machine, double t, const RulEstimate& estimate) {
    (void)line, (void)machine, (void)t, (void)estimate;
  }
};

struct SimulationOptions {
  double horizon = 0;  // seconds; 0 uses plant.horizon
  double warmup = 0;   // seconds of statistics discarded at the start
  uint64_t seed = 1;
  bool record_sensors = false;  // keep sensor histories up to each failure
  SimulationObserver* observer = nullptr;  // live mode; not owned, null costs nothing
  // Needed by machines with the predictive policy; not owned, shared by all
  // replications (so it must be thread-safe, see rul_estimator.h).
  const RulEstimator* estimator = nullptr;
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

// Fails on bad options ("horizon: must be > 0", "warmup: must be below
// the horizon"), on a predictive policy without an estimator, and on an
// estimator's error; the plant must have passed validate_plant.
Result<SimulationResult> simulate(const Plant& plant, const SimulationOptions& options);

}  // namespace officina::twin
