// Presentation of replicated KPIs: JSON for tools and a fixed-width table for
// people. JSON shape (docs/twin.md): {"replications", "events",
// "events_per_second", "lines": [{"name", "kpis": {NAME: {"mean","lo","hi"}},
// "machines": [{"name", "kpis": {...}}]}]}; dotted KPI names such as
// downtime_h.setup nest ("downtime_h": {"setup": {...}}).
// Thread-safe (pure functions).
#pragma once

#include <string>

#include "base/json_util.h"
#include "twin/replication_runner.h"

namespace officina::twin {

Json summary_json(const RunSummary& summary);

// One row per line and per machine: throughput/h, availability, performance,
// quality, OEE (%), downtime hours, maintenance cost; "±" half-widths of the
// 95% CI when there is more than one replication. `title` heads the table.
std::string kpi_table(const RunSummary& summary, const std::string& title);

}  // namespace officina::twin
