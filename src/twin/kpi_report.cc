#include "twin/kpi_report.h"

#include <fmt/format.h>

namespace officina::twin {

namespace {

Json estimates_json(const EstimateSet& set) {
  Json out = Json::object();
  for (const auto& [name, e] : set.items) {
    Json value = {{"mean", e.mean}, {"lo", e.lo}, {"hi", e.hi}};
    size_t dot = name.find('.');
    if (dot == std::string::npos) {
      out[name] = value;
    } else {
      out[name.substr(0, dot)][name.substr(dot + 1)] = value;
    }
  }
  return out;
}

std::string cell(const EstimateSet& set, std::string_view name, double scale, int decimals, bool ci) {
  const Estimate* e = set.find(name);
  if (!e) return "-";
  if (!ci) return fmt::format("{:.{}f}", e->mean * scale, decimals);
  return fmt::format("{:.{}f}±{:.{}f}", e->mean * scale, decimals, (e->hi - e->mean) * scale, decimals);
}

double downtime_hours(const EstimateSet& set) {
  double total = 0;
  for (const auto& [name, e] : set.items) {
    if (name.starts_with("downtime_h.")) total += e.mean;
  }
  return total;
}

std::string row(const std::string& name, const EstimateSet& k, bool ci, bool line) {
  return fmt::format("{:<24} {:>14} {:>12} {:>12} {:>12} {:>12} {:>9.1f} {:>12}\n", name, cell(k, "throughput", 1, 1, ci),
                     cell(k, "availability", 100, 1, ci), cell(k, "performance", 100, 1, ci),
                     cell(k, "quality", 100, 1, ci), cell(k, "oee", 100, 1, ci), line ? 0.0 : downtime_hours(k),
                     cell(k, "maintenance_cost", 1, 0, false));
}

}  // namespace

Json summary_json(const RunSummary& summary) {
  Json lines = Json::array();
  for (const LineSummary& l : summary.lines) {
    Json machines = Json::array();
    for (const MachineSummary& m : l.machines) machines.push_back({{"name", m.name}, {"kpis", estimates_json(m.kpis)}});
    lines.push_back({{"name", l.name}, {"kpis", estimates_json(l.kpis)}, {"machines", machines}});
  }
  return {{"replications", summary.replications}, {"events", summary.events},
          {"events_per_second", summary.events_per_second}, {"lines", lines}};
}

std::string kpi_table(const RunSummary& summary, const std::string& title) {
  const bool ci = summary.replications > 1;
  std::string out = fmt::format("{} ({} replication{}{})\n", title, summary.replications,
                                summary.replications == 1 ? "" : "s", ci ? ", mean ± 95% CI half-width" : "");
  out += fmt::format("{:<24} {:>14} {:>12} {:>12} {:>12} {:>12} {:>9} {:>12}\n", "line / machine", "units/h", "avail %",
                     "perf %", "quality %", "OEE %", "down h", "maint cost");
  for (const LineSummary& l : summary.lines) {
    out += row("line " + l.name, l.kpis, ci, true);
    for (const MachineSummary& m : l.machines) out += row("  " + m.name, m.kpis, ci, false);
  }
  out += fmt::format("events {}  ({:.2f} M events/s per thread)\n", summary.events, summary.events_per_second / 1e6);
  return out;
}

}  // namespace officina::twin
