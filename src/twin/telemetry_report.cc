#include "twin/telemetry_report.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace officina::twin {

std::string format_unix_time(double ts) {
  double whole = std::floor(ts);
  auto seconds = static_cast<std::time_t>(whole);
  int millis = static_cast<int>(std::lround((ts - whole) * 1000));
  if (millis == 1000) {
    ++seconds;
    millis = 0;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

std::string latest_table(const std::vector<Reading>& readings) {
  if (readings.empty()) return "no readings\n";
  std::string out = fmt::format("{:<16} {:<20} {:<24} {:>14} {:<8} {}\n", "line", "machine", "sensor", "value", "unit", "time (UTC)");
  for (const Reading& r : readings) {
    out += fmt::format("{:<16} {:<20} {:<24} {:>14.4f} {:<8} {}\n", r.line, r.machine, r.sensor, r.value, r.unit,
                       format_unix_time(r.ts));
  }
  return out;
}

Json latest_json(const std::vector<Reading>& readings) {
  Json out = Json::array();
  for (const Reading& r : readings) {
    out.push_back({{"plant", r.plant}, {"line", r.line}, {"machine", r.machine}, {"sensor", r.sensor},
                   {"ts", r.ts}, {"value", r.value}, {"unit", r.unit}});
  }
  return out;
}

std::string history_table(const HistorySeries& series, const std::string& machine, const std::string& sensor) {
  if (series.points.empty()) return fmt::format("no readings of {}/{} in that range\n", machine, sensor);
  std::string out;
  if (series.step > 0) {
    out = fmt::format("{}/{} [{}], mean per {:.6g} s bucket\n{:<25} {:>14} {:>14} {:>14} {:>8}\n", machine, sensor,
                      series.unit, series.step, "bucket start (UTC)", "mean", "min", "max", "count");
    for (const HistoryPoint& p : series.points) {
      out += fmt::format("{:<25} {:>14.4f} {:>14.4f} {:>14.4f} {:>8}\n", format_unix_time(p.ts), p.value, p.min, p.max, p.count);
    }
  } else {
    out = fmt::format("{}/{} [{}]\n{:<25} {:>14}\n", machine, sensor, series.unit, "time (UTC)", "value");
    for (const HistoryPoint& p : series.points) out += fmt::format("{:<25} {:>14.4f}\n", format_unix_time(p.ts), p.value);
  }
  return out;
}

Json history_json(const HistorySeries& series, const std::string& machine, const std::string& sensor) {
  Json points = Json::array();
  for (const HistoryPoint& p : series.points) {
    Json point = {{"ts", p.ts}, {"value", p.value}};
    if (series.step > 0) {
      point["min"] = p.min;
      point["max"] = p.max;
      point["count"] = p.count;
    }
    points.push_back(std::move(point));
  }
  return {{"machine", machine}, {"sensor", sensor}, {"unit", series.unit}, {"step", series.step}, {"points", std::move(points)}};
}

std::string health_table(const std::vector<HealthUpdate>& health) {
  if (health.empty()) return "no health estimates (only machines under `policy: predictive` publish them)\n";
  std::string out = fmt::format("{:<16} {:<20} {:>8} {:>10} {:>10} {:>10} {}\n", "line", "machine", "health", "RUL h",
                                "RUL lo h", "RUL hi h", "time (UTC)");
  for (const HealthUpdate& h : health) {
    out += fmt::format("{:<16} {:<20} {:>8.3f} {:>10.1f} {:>10.1f} {:>10.1f} {}\n", h.line, h.machine,
                       h.estimate.health_index, h.estimate.rul / 3600, h.estimate.rul_lo / 3600, h.estimate.rul_hi / 3600,
                       format_unix_time(h.ts));
  }
  return out;
}

Json health_json(const std::vector<HealthUpdate>& health) {
  Json out = Json::array();
  for (const HealthUpdate& h : health) {
    out.push_back({{"plant", h.plant}, {"line", h.line}, {"machine", h.machine}, {"ts", h.ts},
                   {"health_index", h.estimate.health_index}, {"rul", h.estimate.rul}, {"rul_lo", h.estimate.rul_lo},
                   {"rul_hi", h.estimate.rul_hi}});
  }
  return out;
}

std::string states_table(const std::vector<StoredState>& states) {
  if (states.empty()) return "no machine states\n";
  std::string out = fmt::format("{:<16} {:<20} {:<12} {}\n", "line", "machine", "state", "since (UTC)");
  for (const StoredState& s : states) {
    out += fmt::format("{:<16} {:<20} {:<12} {}\n", s.line, s.machine, machine_status_name(s.state), format_unix_time(s.ts));
  }
  return out;
}

Json states_json(const std::vector<StoredState>& states) {
  Json out = Json::array();
  for (const StoredState& s : states) {
    out.push_back({{"plant", s.plant}, {"line", s.line}, {"machine", s.machine}, {"ts", s.ts},
                   {"state", machine_status_name(s.state)}});
  }
  return out;
}

std::string counters_table(const std::map<std::string, uint64_t>& counters) {
  if (counters.empty()) return "no messages ingested yet\n";
  std::string out;
  for (const auto& [name, count] : counters) out += fmt::format("{:<20} {:>12}\n", name, count);
  return out;
}

std::string ingest_counters_table(const IngestCounters& c) {
  std::string out = fmt::format("{:<20} {:>12}\n{:<20} {:>12}\n{:<20} {:>12}\n{:<20} {:>12}\n", "received", c.received,
                                "accepted", c.accepted, "duplicate", c.duplicate, "rejected", c.rejected_total());
  for (const auto& [reason, count] : c.rejected) out += fmt::format("  {:<18} {:>12}\n", reason, count);
  if (c.other_plant) out += fmt::format("{:<20} {:>12}\n", "other_plant", c.other_plant);
  if (c.store_error) out += fmt::format("{:<20} {:>12}\n", "store_error", c.store_error);
  if (c.retention_deleted) out += fmt::format("{:<20} {:>12}\n", "retention_deleted", c.retention_deleted);
  return out;
}

Json ingest_counters_json(const IngestCounters& c) {
  Json rejected = Json::object();
  for (const auto& [reason, count] : c.rejected) rejected[reason] = count;
  return {{"received", c.received}, {"accepted", c.accepted}, {"duplicate", c.duplicate},
          {"rejected", c.rejected_total()}, {"rejected_by_reason", std::move(rejected)},
          {"other_plant", c.other_plant}, {"store_error", c.store_error}, {"retention_deleted", c.retention_deleted}};
}

}  // namespace officina::twin
