#include "twin/plant_validator.h"

#include <cmath>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "twin/duration.h"
#include "twin/yaml_reader.h"

namespace officina::twin {

namespace {

constexpr std::string_view kKinds[] = {"press", "cnc", "welding", "painting", "oven", "assembly", "packaging",
                                       "inspection", "conveyor", "robot", "moulding", "generic"};
constexpr int kMaxCapacity = 64;
constexpr int64_t kMaxBuffer = 1'000'000;

class Issues {
 public:
  explicit Issues(const Plant& plant) : plant_(plant) {}

  void add(const std::string& path, std::string_view message) {
    if (lines_.size() >= YamlReader::kMaxErrors) return;
    lines_.push_back(fmt::format("{}{}: {}", where(path), path, message));
  }
  bool empty() const { return lines_.empty(); }
  Error error() const {
    std::string text;
    for (const std::string& l : lines_) text += (text.empty() ? "" : "\n") + l;
    return Error{text};
  }

 private:
  // The nearest recorded source line of the path or one of its parents.
  std::string where(std::string path) const {
    while (!path.empty()) {
      if (auto it = plant_.source.find(path); it != plant_.source.end()) return it->second + ": ";
      size_t cut = path.find_last_of(".[");
      if (cut == std::string::npos) break;
      path.resize(cut);
    }
    return "";
  }

  const Plant& plant_;
  std::vector<std::string> lines_;
};

bool finite_all(const Distribution& d) { return std::isfinite(d.a) && std::isfinite(d.b) && std::isfinite(d.c); }

void check_distribution(Issues& issues, const Distribution& d, const std::string& path, bool zero_ok) {
  if (!finite_all(d)) {
    issues.add(path, "parameters must be finite numbers");
    return;
  }
  auto positive = [&](double v, const char* key) {
    if (v <= 0) issues.add(child_path(path, key), "must be > 0");
  };
  switch (d.kind) {
    case DistributionKind::kFixed:
      if (d.a < 0 || (!zero_ok && d.a == 0)) issues.add(path, zero_ok ? "must be >= 0" : "must be > 0");
      break;
    case DistributionKind::kExponential:
      positive(d.a, "mean");
      break;
    case DistributionKind::kNormal:
    case DistributionKind::kLognormal:
      positive(d.a, "mean");
      if (d.b < 0) issues.add(child_path(path, "sd"), "must be >= 0");
      break;
    case DistributionKind::kTriangular:
      if (d.a < 0) issues.add(child_path(path, "min"), "must be >= 0");
      if (!(d.a <= d.b && d.b <= d.c)) issues.add(path, "needs min <= mode <= max");
      else if (d.c <= d.a) issues.add(path, "needs max > min (use a fixed time for a constant)");
      break;
    case DistributionKind::kWeibull:
      if (d.a < 0.05 || d.a > 50) issues.add(child_path(path, "shape"), "must be between 0.05 and 50");
      positive(d.b, "scale");
      break;
  }
  // Sub-millisecond activities would only make the event count explode.
  if (!zero_ok && d.mean() > 0 && d.mean() < 1e-3) issues.add(path, "mean below 1ms; use a longer time");
  if (d.mean() > kMaxHorizon) issues.add(path, fmt::format("mean {} is absurd (more than ten years)", format_duration(d.mean())));
}

template <class T>
void check_names(Issues& issues, const std::vector<T>& items, const std::string& list_path) {
  std::set<std::string> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string p = child_path(index_path(list_path, i), "name");
    if (items[i].name.empty()) issues.add(p, "missing (every entry needs a name)");
    else if (!seen.insert(items[i].name).second) issues.add(p, fmt::format("'{}' is used twice", items[i].name));
  }
}

void check_machine(Issues& issues, const Machine& m, const std::string& path, double horizon) {
  if (!is_known_machine_kind(m.kind)) {
    std::string list;
    for (std::string_view k : kKinds) list += fmt::format("{}{}", list.empty() ? "" : ", ", k);
    issues.add(child_path(path, "kind"), fmt::format("unknown kind '{}' (one of: {})", m.kind, list));
  }
  check_distribution(issues, m.cycle_time, child_path(path, "cycle_time"), false);
  check_distribution(issues, m.setup_time, child_path(path, "setup_time"), true);
  if (m.capacity < 1 || m.capacity > kMaxCapacity) issues.add(child_path(path, "capacity"), fmt::format("must be between 1 and {}", kMaxCapacity));
  if (!(m.scrap_probability >= 0 && m.scrap_probability < 1)) issues.add(child_path(path, "scrap_probability"), "must be >= 0 and < 1");
  check_names(issues, m.degradations, child_path(path, "degradation"));
  for (size_t i = 0; i < m.degradations.size(); ++i) {
    std::string p = index_path(child_path(path, "degradation"), i);
    if (!(m.degradations[i].rate_per_hour > 0) || !std::isfinite(m.degradations[i].rate_per_hour)) issues.add(child_path(p, "rate_per_hour"), "must be > 0");
    if (!(m.degradations[i].cv >= 0 && m.degradations[i].cv <= 10)) issues.add(child_path(p, "cv"), "must be between 0 and 10");
    if (!(m.degradations[i].initial >= 0) || !std::isfinite(m.degradations[i].initial)) issues.add(child_path(p, "initial"), "must be finite and >= 0");
  }
  check_names(issues, m.sensors, child_path(path, "sensors"));
  for (size_t i = 0; i < m.sensors.size(); ++i) {
    const Sensor& s = m.sensors[i];
    std::string p = index_path(child_path(path, "sensors"), i);
    if (!(s.period >= 1)) issues.add(child_path(p, "period"), "must be >= 1s");
    else if (horizon / s.period > 1e8) issues.add(child_path(p, "period"), fmt::format("{} samples over the horizon; use a longer period", horizon / s.period));
    if (!(s.noise_sd >= 0) || !std::isfinite(s.noise_sd)) issues.add(child_path(p, "noise_sd"), "must be >= 0");
    if (!(s.exponent > 0 && s.exponent <= 10)) issues.add(child_path(p, "exponent"), "must be > 0 and <= 10");
    if (!std::isfinite(s.base) || !std::isfinite(s.gain)) issues.add(p, "base and gain must be finite");
  }
  check_names(issues, m.failure_modes, child_path(path, "failure_modes"));
  for (size_t i = 0; i < m.failure_modes.size(); ++i) {
    const FailureMode& f = m.failure_modes[i];
    std::string p = index_path(child_path(path, "failure_modes"), i);
    if (f.trigger == FailureTrigger::kTime) check_distribution(issues, f.time_to_failure, child_path(p, "time_to_failure"), false);
    else if (!(f.threshold > 0) || !std::isfinite(f.threshold)) issues.add(child_path(p, "threshold"), "must be > 0");
    check_distribution(issues, f.repair_time, child_path(p, "repair_time"), false);
    if (!(f.parts_cost >= 0)) issues.add(child_path(p, "parts_cost"), "must be >= 0");
  }
  const Maintenance& mt = m.maintenance;
  std::string p = child_path(path, "maintenance");
  if (mt.policy == MaintenancePolicy::kPreventive && !(mt.interval > 0)) issues.add(child_path(p, "interval"), "must be > 0");
  if (mt.policy == MaintenancePolicy::kCondition && !std::isfinite(mt.threshold)) issues.add(child_path(p, "threshold"), "must be a finite number");
  if (mt.policy == MaintenancePolicy::kPredictive) {
    if (mt.model.empty()) issues.add(child_path(p, "model"), "must name a pdm model directory");
    if (!(mt.lead_time > 0) || !std::isfinite(mt.lead_time)) issues.add(child_path(p, "lead_time"), "must be > 0");
    if (!(mt.check_every > 0) || !std::isfinite(mt.check_every)) issues.add(child_path(p, "check_every"), "must be > 0");
    if (m.sensors.empty()) issues.add(child_path(p, "policy"), "predictive maintenance needs sensors on the machine (the model reads them)");
  }
  if (mt.policy == MaintenancePolicy::kScheduled) {
    for (size_t i = 0; i < mt.at.size(); ++i) {
      if (!(mt.at[i] >= 0) || !std::isfinite(mt.at[i])) issues.add(index_path(child_path(p, "at"), i), "must be a finite time >= 0");
      else if (i > 0 && mt.at[i] < mt.at[i - 1]) issues.add(index_path(child_path(p, "at"), i), "times must be in ascending order");
    }
  }
  if (mt.policy != MaintenancePolicy::kCorrective) check_distribution(issues, mt.duration, child_path(p, "duration"), false);
  if (!(mt.parts_cost >= 0)) issues.add(child_path(p, "parts_cost"), "must be >= 0");
}

// Serial routing: every machine has at most one input and one output buffer,
// and following outputs from the entry machine visits every machine once.
void check_routing(Issues& issues, Line& line, const std::string& path) {
  const size_t n = line.machines.size();
  std::vector<int> out(n, -1), in(n, -1);
  bool ok = true;
  for (size_t b = 0; b < line.buffers.size(); ++b) {
    const Buffer& buf = line.buffers[b];
    std::string p = index_path(child_path(path, "buffers"), b);
    if (buf.capacity < 1 || buf.capacity > kMaxBuffer) issues.add(child_path(p, "capacity"), fmt::format("must be between 1 and {}", kMaxBuffer));
    if (buf.from < 0 || buf.to < 0 || buf.from >= static_cast<int>(n) || buf.to >= static_cast<int>(n)) {
      ok = false;
      continue;
    }
    if (buf.from == buf.to) {
      issues.add(p, fmt::format("routing cycle: '{}' feeds itself", line.machines[buf.from].name));
      ok = false;
    } else if (out[buf.from] >= 0) {
      issues.add(child_path(p, "from"), fmt::format("'{}' already feeds buffers[{}]; only serial lines are supported", line.machines[buf.from].name, out[buf.from]));
      ok = false;
    } else if (in[buf.to] >= 0) {
      issues.add(child_path(p, "to"), fmt::format("'{}' is already fed by buffers[{}]; only serial lines are supported", line.machines[buf.to].name, in[buf.to]));
      ok = false;
    } else {
      out[buf.from] = static_cast<int>(b);
      in[buf.to] = static_cast<int>(b);
    }
  }
  if (!ok || n == 0) return;
  std::vector<bool> visited(n, false);
  int entry = -1;
  for (size_t i = 0; i < n && entry < 0; ++i) {
    if (in[i] < 0) entry = static_cast<int>(i);
  }
  line.order.clear();
  line.buffer_after.clear();
  for (int m = entry; m >= 0; m = out[m] >= 0 ? line.buffers[out[m]].to : -1) {
    visited[m] = true;
    line.order.push_back(m);
    if (out[m] >= 0) line.buffer_after.push_back(line.buffers[out[m]].capacity);
  }
  for (size_t i = 0; i < n; ++i) {
    if (visited[i]) continue;
    // Walk the outputs from i: coming back to i means a cycle.
    std::string chain = line.machines[i].name;
    bool cycle = false;
    for (int m = out[i] >= 0 ? line.buffers[out[i]].to : -1; m >= 0 && !visited[m];
         m = out[m] >= 0 ? line.buffers[out[m]].to : -1) {
      chain += " -> " + line.machines[m].name;
      if (m == static_cast<int>(i)) {
        cycle = true;
        break;
      }
    }
    if (cycle) {
      issues.add(child_path(path, "buffers"), fmt::format("routing cycle: {}", chain));
      for (int m = static_cast<int>(i);;) {
        visited[m] = true;
        m = line.buffers[out[m]].to;
        if (m == static_cast<int>(i)) break;
      }
    } else {
      std::string from = entry >= 0 ? fmt::format(" '{}'", line.machines[entry].name) : "";
      issues.add(index_path(child_path(path, "machines"), i),
                 fmt::format("'{}' is unreachable from the line's entry machine{} (add a buffer into it)", line.machines[i].name, from));
      visited[i] = true;
    }
  }
}

}  // namespace

bool is_known_machine_kind(std::string_view kind) {
  for (std::string_view k : kKinds) {
    if (k == kind) return true;
  }
  return false;
}

Result<void> validate_horizon(double horizon, std::string_view what) {
  if (!(horizon > 0)) return fail("{}: must be > 0", what);
  if (horizon > kMaxHorizon) return fail("{}: {} is absurd (at most ten years)", what, format_duration(horizon));
  return {};
}

Result<void> validate_plant(Plant& plant) {
  Issues issues(plant);
  if (auto h = validate_horizon(plant.horizon); !h) issues.add("horizon", h.error().message.substr(9));
  if (plant.crews < 1 || plant.crews > 10000) issues.add("crews", "must be between 1 and 10000");
  const Calendar& c = plant.calendar;
  if (c.shifts_per_day < 1 || c.shifts_per_day > 24) issues.add("calendar.shifts_per_day", "must be between 1 and 24");
  if (!(c.shift_hours > 0)) issues.add("calendar.shift_hours", "must be > 0");
  else if (c.planned_hours_per_day() > 24 + 1e-9) issues.add("calendar", fmt::format("{} shifts of {} h make more than 24 h a day", c.shifts_per_day, c.shift_hours));
  if (c.days_per_week < 1 || c.days_per_week > 7) issues.add("calendar.days_per_week", "must be between 1 and 7");
  if (!(plant.costs.downtime_per_hour >= 0)) issues.add("costs.downtime_per_hour", "must be >= 0");
  if (!(plant.costs.labour_per_hour >= 0)) issues.add("costs.labour_per_hour", "must be >= 0");
  if (!(plant.costs.scrap_per_unit >= 0)) issues.add("costs.scrap_per_unit", "must be >= 0");

  if (plant.products.empty()) plant.products.push_back({"default", 1, 1});
  check_names(issues, plant.products, "products");
  double mix = 0;
  for (size_t i = 0; i < plant.products.size(); ++i) {
    const Product& p = plant.products[i];
    if (!(p.mix > 0 && p.mix <= 1)) issues.add(child_path(index_path("products", i), "mix"), "must be > 0 and <= 1");
    if (!(p.cycle_factor > 0 && p.cycle_factor <= 1000)) issues.add(child_path(index_path("products", i), "cycle_factor"), "must be > 0 and <= 1000");
    mix += p.mix;
  }
  if (std::abs(mix - 1) > 1e-6) issues.add("products", fmt::format("mix shares sum to {:g}, they must sum to 1", mix));

  if (plant.lines.empty()) issues.add("lines", "a plant needs at least one line");
  check_names(issues, plant.lines, "lines");
  for (size_t l = 0; l < plant.lines.size(); ++l) {
    Line& line = plant.lines[l];
    std::string lp = index_path("lines", l);
    if (line.machines.empty()) issues.add(child_path(lp, "machines"), "a line needs at least one machine");
    check_names(issues, line.machines, child_path(lp, "machines"));
    for (size_t m = 0; m < line.machines.size(); ++m) {
      check_machine(issues, line.machines[m], index_path(child_path(lp, "machines"), m), plant.horizon);
    }
    if (line.demand.enabled && !(line.demand.rate_per_hour > 0 && line.demand.rate_per_hour <= 1e7)) {
      issues.add(child_path(lp, "demand.rate_per_hour"), "must be > 0 (and at most 1e7)");
    }
    if (line.input_capacity < 0 || line.input_capacity > kMaxBuffer) issues.add(child_path(lp, "input_capacity"), fmt::format("must be between 0 (unlimited) and {}", kMaxBuffer));
    if (line.lot_size < 1 || line.lot_size > kMaxBuffer) issues.add(child_path(lp, "lot_size"), fmt::format("must be between 1 and {}", kMaxBuffer));
    check_routing(issues, line, lp);
  }
  if (!issues.empty()) return std::unexpected(issues.error());
  return {};
}

}  // namespace officina::twin
