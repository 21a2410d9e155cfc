// The plant's current state read from the telemetry store, so the twin can
// resume from it instead of from as-new machines (`twin simulate
// --from-store`). For each machine of a Plant it reads the store's newest
// status, the time since its last renewal (the end of the last repair or
// maintenance in the status history), the latest health estimate, and each
// wear state estimated by inverting the plant's sensor model
// (reading = base + gain * wear^exponent + noise, plant.h):
//   1. per sensor driven by the wear state: the newest `readings` readings
//      since the last renewal, averaged robustly (the interquartile mean:
//      sorted, a quarter cut from each end), and inverted:
//      wear = ((mean - base) / gain)^(1 / exponent), clamped to [0, limit];
//   2. its standard error from the sensor's noise_sd (inverting mean +- se);
//   3. the sensors combined by inverse variance.
// limit is the lowest failure threshold on the wear state (a machine past it
// would have failed), infinity without one. A machine under maintenance now
// is taken as renewed (wear 0): the action in progress resets every state.
// The average lags the true wear by about half the window's growth (K
// sensor periods of processing).
// Names in the store are MQTT topic levels: the plant's names are matched
// through sanitize_topic_level.
// Errors: the store's; "STORE: the store holds no telemetry (...)" for an
// empty one; "STORE: no telemetry for any machine of plant 'P' (...); the
// store holds plant(s): A, B ..." when no machine of the plant is in it.
// Cost: a few indexed queries per machine and sensor; finding the last
// renewal scans a machine's status history back to its last stop. Thread-safety: as TimeseriesStore (one
// store per thread); apply_store_state is pure.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "twin/plant.h"
#include "twin/telemetry_message.h"
#include "twin/timeseries_store.h"

namespace officina::twin {

struct StoreStateOptions {
  size_t readings = 10;  // newest readings per sensor in the robust average (>= 1)
};

struct WearEstimate {
  std::string degradation;  // Degradation::name
  bool estimated = false;   // false: left at the YAML's `initial`
  double wear = 0;          // the estimate (or the YAML's initial)
  double sd = 0;            // its standard error from the sensors' noise
  double limit = std::numeric_limits<double>::infinity();  // the clamp's upper end
  std::vector<std::string> sensors;  // the sensors it came from
  size_t readings = 0;               // readings averaged, all sensors together
  // How it was obtained: the sensors joined by '+', "maintenance in
  // progress", "renewed, no reading since", "no sensor" or "no readings".
  std::string source;
};

struct MachineStoreState {
  int line = 0, machine = 0;  // indices into Plant::lines and Line::machines
  std::string line_name, machine_name;
  bool found = false;  // the store has a status, reading or health estimate of it
  std::optional<MachineStatus> status;
  double status_ts = 0;
  // Seconds from the last renewal to as_of. Without a renewal in the status
  // history (or without history) it is a lower bound: since the oldest
  // status kept (retention may have cut older ones).
  std::optional<double> renewed_at;  // unix seconds
  double since_renewal_s = 0;
  bool since_renewal_is_lower_bound = true;
  std::vector<WearEstimate> wear;  // one per Machine::degradations
  std::optional<HealthUpdate> health;
};

struct PlantStoreState {
  std::string store;  // its path
  std::string plant;  // the plant's topic level
  double as_of = 0;   // the newest timestamp of the plant's telemetry (unix seconds)
  size_t matched = 0; // machines found in the store
  std::vector<MachineStoreState> machines;  // plant order, line by line
};

Result<PlantStoreState> read_store_state(const Plant& plant, const TimeseriesStore& store,
                                         const StoreStateOptions& options = {});
// Opens an existing store (TimeseriesStore::open_existing: a missing file is
// "PATH: no telemetry store ...") and reads the plant's state from it.
Result<PlantStoreState> read_store_state(const Plant& plant, const std::string& store_path,
                                         const StoreStateOptions& options = {});

// Sets each estimated wear state as the degradation's `initial`, so every
// replication starts from it. Machines and states not estimated keep theirs.
void apply_store_state(Plant& plant, const PlantStoreState& state);

}  // namespace officina::twin
