// Key performance indicators of one simulation run, as ordered name/value
// lists per line and per machine (the same names in the same order for every
// run of a plant, so replications can be summarised name by name).
// Machine names: throughput (good units/h), availability, performance,
// quality, oee, utilization, blocked, starved (fractions of planned time),
// wait (mean seconds in the input buffer), failures, preventive_actions,
// good_units, scrap_units, maintenance_cost, downtime_cost, scrap_cost and
// downtime_h.<cause> (failure mode names, preventive, condition, setup,
// waiting_crew). Line names: throughput, availability, performance, quality,
// oee, wip, lead_time (s), good_units, scrap_units, lost_demand,
// maintenance_cost, downtime_cost, scrap_cost, total_cost.
// Plain data; no thread-safety concerns.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace officina::twin {

struct KpiSet {
  std::vector<std::pair<std::string, double>> items;

  void add(std::string name, double value) { items.emplace_back(std::move(name), value); }
  // NaN when the name is absent.
  double get(std::string_view name) const {
    for (const auto& [n, v] : items) {
      if (n == name) return v;
    }
    return NAN;
  }
};

struct MachineKpis {
  std::string name;
  KpiSet kpis;
};

struct LineKpis {
  std::string name;
  KpiSet kpis;
  std::vector<MachineKpis> machines;  // in the order of Line::machines
};

struct RunKpis {
  std::vector<LineKpis> lines;
  uint64_t events = 0;
  double wall_seconds = 0;
  double events_per_second() const { return wall_seconds > 0 ? events / wall_seconds : 0; }
};

}  // namespace officina::twin
