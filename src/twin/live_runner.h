// Live mode: runs the simulator in (accelerated) real time and hands every
// sensor reading and machine status change to a TelemetrySink (the MQTT
// publisher) as the simulated clock passes it. speed is simulated seconds
// per wall second (60: an hour in a minute; 0: as fast as possible).
// Timestamps are the simulated clock anchored at the run's wall-clock start:
// ts = anchor_unix + simulated seconds, so at speed 1 they are real time and
// at speed 60 they run ahead of the wall clock, spaced as in the plant.
// Status changes at one simulated instant are merged: only the last status
// of each machine at that instant is sent, and only when it differs from the
// one sent before.
// Thread-safety: run_live blocks the calling thread; *stop may be set from
// any thread (a signal handler included) and ends the run within ~100 ms.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "base/error.h"
#include "twin/plant.h"
#include "twin/telemetry_message.h"

namespace officina::twin {

struct LiveOptions {
  double duration = 3600;  // simulated seconds, 0 < d <= 10 years
  double speed = 60;       // simulated seconds per wall second; 0 = unpaced
  uint64_t seed = 1;
  double anchor_unix = 0;  // ts of simulated time 0; 0 = the wall clock at the start
  const std::atomic<bool>* stop = nullptr;
  const RulEstimator* estimator = nullptr;  // for predictive policies; not owned
  // About once per wall second: (simulated seconds so far, readings, status changes).
  std::function<void(double, uint64_t, uint64_t)> progress;
};

struct LiveResult {
  double simulated_s = 0;  // where the run ended (duration, or earlier when stopped)
  double wall_s = 0;
  uint64_t readings = 0, states = 0;  // handed to the sink
  uint64_t refused = 0;               // the sink said no (publisher outbox full)
  bool stopped = false;               // ended by *stop
};

// Fails on bad options ("--speed: must be >= 0", a duration out of range);
// the plant must have passed validate_plant.
Result<LiveResult> run_live(const Plant& plant, const LiveOptions& options, TelemetrySink& sink);

}  // namespace officina::twin
