// The state read from the telemetry store (store_state.h) as a text table
// and as JSON, for `twin simulate --from-store` and `twin plan --from-store`.
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "base/json_util.h"
#include "twin/store_state.h"

namespace officina::twin {

// One row per wear state (one per machine without any): machine, status,
// time since renewal (">=" when the history shows no renewal), wear state,
// estimate +- standard error, source sensors, and the latest RUL if any.
std::string store_state_table(const PlantStoreState& state);

// {"store", "plant", "as_of", "matched", "machines": [{"line", "machine",
// "found", "status" (null when unknown), "status_ts", "renewed_at" (null),
// "since_renewal_s", "since_renewal_is_lower_bound", "wear": [{"degradation",
// "estimated", "wear", "sd", "limit" (null: none), "sensors", "readings",
// "source"}], "health": {"ts", "health_index", "rul", "rul_lo", "rul_hi"} or null}]}
Json store_state_json(const PlantStoreState& state);

}  // namespace officina::twin
