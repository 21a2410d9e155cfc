#include "twin/store_state_report.h"

#include <cmath>

#include <fmt/format.h>

#include "twin/duration.h"
#include "twin/telemetry_report.h"

namespace officina::twin {

namespace {

std::string since_renewal(const MachineStoreState& m) {
  if (!m.found || (!m.renewed_at && m.since_renewal_s <= 0)) return "?";
  return (m.since_renewal_is_lower_bound ? ">= " : "") + format_duration(std::max(0.0, m.since_renewal_s));
}

std::string rul(const MachineStoreState& m) {
  if (!m.health) return "-";
  return fmt::format("{:.1f}", m.health->estimate.rul / 3600);
}

}  // namespace

std::string store_state_table(const PlantStoreState& state) {
  std::string out = fmt::format("State read from {} as of {} (plant {}, {} of {} machines found)\n", state.store,
                                format_unix_time(state.as_of), state.plant, state.matched, state.machines.size());
  out += fmt::format("{:<20} {:<12} {:>14}  {:<26} {:>7} {:>7}  {:>7}  {}\n", "machine", "status", "since renewal",
                     "wear state", "wear", "+-", "RUL h", "source");
  for (const MachineStoreState& m : state.machines) {
    const std::string status = m.status ? std::string(machine_status_name(*m.status)) : m.found ? "?" : "no data";
    if (m.wear.empty()) {
      out += fmt::format("{:<20} {:<12} {:>14}  {:<26} {:>7} {:>7}  {:>7}  {}\n", m.machine_name, status,
                         since_renewal(m), "-", "-", "-", rul(m), "-");
      continue;
    }
    for (size_t g = 0; g < m.wear.size(); ++g) {
      const WearEstimate& w = m.wear[g];
      const std::string source = w.estimated && w.readings > 0 ? fmt::format("{} ({} readings)", w.source, w.readings)
                                 : w.estimated ? w.source : w.source + ", kept initial";
      out += fmt::format("{:<20} {:<12} {:>14}  {:<26} {:>7.3f} {:>7}  {:>7}  {}\n", g == 0 ? m.machine_name : "",
                         g == 0 ? status : "", g == 0 ? since_renewal(m) : "", w.degradation, w.wear,
                         w.estimated && w.readings > 0 ? fmt::format("{:.3f}", w.sd) : "-", g == 0 ? rul(m) : "", source);
    }
  }
  return out;
}

Json store_state_json(const PlantStoreState& state) {
  Json machines = Json::array();
  for (const MachineStoreState& m : state.machines) {
    Json wear = Json::array();
    for (const WearEstimate& w : m.wear) {
      wear.push_back({{"degradation", w.degradation}, {"estimated", w.estimated}, {"wear", w.wear}, {"sd", w.sd},
                      {"limit", std::isfinite(w.limit) ? Json(w.limit) : Json(nullptr)}, {"sensors", w.sensors},
                      {"readings", w.readings}, {"source", w.source}});
    }
    Json health = nullptr;
    if (m.health) {
      health = {{"ts", m.health->ts}, {"health_index", m.health->estimate.health_index}, {"rul", m.health->estimate.rul},
                {"rul_lo", m.health->estimate.rul_lo}, {"rul_hi", m.health->estimate.rul_hi}};
    }
    machines.push_back({{"line", m.line_name}, {"machine", m.machine_name}, {"found", m.found},
                        {"status", m.status ? Json(std::string(machine_status_name(*m.status))) : Json(nullptr)},
                        {"status_ts", m.status_ts},
                        {"renewed_at", m.renewed_at ? Json(*m.renewed_at) : Json(nullptr)},
                        {"since_renewal_s", m.since_renewal_s},
                        {"since_renewal_is_lower_bound", m.since_renewal_is_lower_bound},
                        {"wear", std::move(wear)}, {"health", std::move(health)}});
  }
  return {{"store", state.store}, {"plant", state.plant}, {"as_of", state.as_of}, {"matched", state.matched},
          {"machines", std::move(machines)}};
}

}  // namespace officina::twin
