// Text tables and JSON for telemetry queries (`officina twin telemetry`,
// `twin ingest`), so the CLI stays thin. Times print as UTC ISO 8601 with
// milliseconds. Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "twin/telemetry_ingester.h"
#include "twin/timeseries_store.h"

namespace officina::twin {

// 1718000000.25 -> "2024-06-10T06:13:20.250Z".
std::string format_unix_time(double ts);

std::string latest_table(const std::vector<Reading>& readings);
Json latest_json(const std::vector<Reading>& readings);

std::string history_table(const HistorySeries& series, const std::string& machine, const std::string& sensor);
Json history_json(const HistorySeries& series, const std::string& machine, const std::string& sensor);

std::string states_table(const std::vector<StoredState>& states);
Json states_json(const std::vector<StoredState>& states);

// Health estimates (latest per machine, or a history): RUL in hours in the
// table, in seconds in the JSON.
std::string health_table(const std::vector<HealthUpdate>& health);
Json health_json(const std::vector<HealthUpdate>& health);

// The store's persistent counters (TimeseriesStore::counters).
std::string counters_table(const std::map<std::string, uint64_t>& counters);
// One ingest session's counters.
std::string ingest_counters_table(const IngestCounters& counters);
Json ingest_counters_json(const IngestCounters& counters);

}  // namespace officina::twin
