#include "twin/plant_parser.h"

#include <filesystem>

#include <fmt/format.h>

#include "base/mapped_file.h"
#include "twin/plant_validator.h"

namespace officina::twin {

namespace {

constexpr size_t kMaxLines = 100;
constexpr size_t kMaxMachines = 10000;
constexpr size_t kMaxItems = 64;  // failure modes, sensors, degradations, products

int find_named(const auto& items, const std::string& name) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void read_degradation(YamlReader& r, const YAML::Node& n, const std::string& path, Degradation& d) {
  if (!r.expect_map(n, path, {"name", "rate_per_hour", "cv", "initial"})) return;
  d.name = r.string(n, "name", path).value_or("");
  if (auto v = r.number(n, "rate_per_hour", path)) d.rate_per_hour = *v;
  else if (!n["rate_per_hour"].IsDefined()) r.error(n, child_path(path, "rate_per_hour"), "missing");
  if (auto v = r.number(n, "cv", path)) d.cv = *v;
  if (auto v = r.number(n, "initial", path)) d.initial = *v;
}

void read_sensor(YamlReader& r, const YAML::Node& n, const std::string& path, const Machine& m, Sensor& s) {
  if (!r.expect_map(n, path, {"name", "unit", "period", "noise_sd", "base", "gain", "exponent", "degradation"})) return;
  s.name = r.string(n, "name", path).value_or("");
  s.unit = r.string(n, "unit", path).value_or("");
  if (auto v = r.duration(n, "period", path)) s.period = *v;
  if (auto v = r.number(n, "noise_sd", path)) s.noise_sd = *v;
  if (auto v = r.number(n, "base", path)) s.base = *v;
  if (auto v = r.number(n, "gain", path)) s.gain = *v;
  if (auto v = r.number(n, "exponent", path)) s.exponent = *v;
  if (auto v = r.string(n, "degradation", path)) {
    s.degradation = find_named(m.degradations, *v);
    if (s.degradation < 0) r.error(n["degradation"], child_path(path, "degradation"), fmt::format("no degradation named '{}' on this machine", *v));
  }
}

void read_failure_mode(YamlReader& r, const YAML::Node& n, const std::string& path, const Machine& m, FailureMode& f) {
  if (!r.expect_map(n, path, {"name", "mtbf", "time_to_failure", "degradation", "threshold", "repair_time", "parts_cost"})) return;
  f.name = r.string(n, "name", path).value_or("");
  auto mtbf = r.duration(n, "mtbf", path);
  auto ttf = r.distribution(n, "time_to_failure", path);
  auto degradation = r.string(n, "degradation", path);
  int given = mtbf.has_value() + ttf.has_value() + degradation.has_value();
  if (given != 1) {
    r.error(n, path, "give exactly one of 'mtbf' (exponential), 'time_to_failure' (a distribution) or 'degradation' with 'threshold'");
  } else if (mtbf) {
    f.time_to_failure = Distribution::exponential(*mtbf);
  } else if (ttf) {
    f.time_to_failure = *ttf;
  } else {
    f.trigger = FailureTrigger::kDegradation;
    f.degradation = find_named(m.degradations, *degradation);
    if (f.degradation < 0) r.error(n["degradation"], child_path(path, "degradation"), fmt::format("no degradation named '{}' on this machine", *degradation));
    if (auto v = r.number(n, "threshold", path)) f.threshold = *v;
    else r.error(n, child_path(path, "threshold"), "missing (the degradation state at which the machine fails)");
  }
  if (auto v = r.distribution(n, "repair_time", path)) f.repair_time = *v;
  else if (!n["repair_time"].IsDefined()) r.error(n, child_path(path, "repair_time"), "missing");
  if (auto v = r.number(n, "parts_cost", path)) f.parts_cost = *v;
}

void read_machine(YamlReader& r, const YAML::Node& n, const std::string& path, Machine& m) {
  if (!r.expect_map(n, path, {"name", "kind", "cycle_time", "setup_time", "capacity", "scrap_probability",
                              "failure_modes", "degradation", "sensors", "maintenance"})) return;
  m.name = r.string(n, "name", path).value_or("");
  m.kind = r.string(n, "kind", path).value_or("generic");
  if (auto v = r.distribution(n, "cycle_time", path)) m.cycle_time = *v;
  else if (!n["cycle_time"].IsDefined()) r.error(n, child_path(path, "cycle_time"), "missing");
  if (auto v = r.distribution(n, "setup_time", path)) m.setup_time = *v;
  if (auto v = r.integer(n, "capacity", path)) m.capacity = static_cast<int>(std::clamp<int64_t>(*v, -1, 1 << 20));
  if (auto v = r.number(n, "scrap_probability", path)) m.scrap_probability = *v;
  if (const YAML::Node list = n["degradation"]; list.IsDefined()) {
    std::string p = child_path(path, "degradation");
    if (r.expect_list(list, p, kMaxItems)) {
      m.degradations.resize(list.size());
      for (size_t i = 0; i < list.size(); ++i) read_degradation(r, list[i], index_path(p, i), m.degradations[i]);
    }
  }
  if (const YAML::Node list = n["sensors"]; list.IsDefined()) {
    std::string p = child_path(path, "sensors");
    if (r.expect_list(list, p, kMaxItems)) {
      m.sensors.resize(list.size());
      for (size_t i = 0; i < list.size(); ++i) read_sensor(r, list[i], index_path(p, i), m, m.sensors[i]);
    }
  }
  if (const YAML::Node list = n["failure_modes"]; list.IsDefined()) {
    std::string p = child_path(path, "failure_modes");
    if (r.expect_list(list, p, kMaxItems)) {
      m.failure_modes.resize(list.size());
      for (size_t i = 0; i < list.size(); ++i) read_failure_mode(r, list[i], index_path(p, i), m, m.failure_modes[i]);
    }
  }
  if (const YAML::Node maint = n["maintenance"]; maint.IsDefined()) {
    read_maintenance(r, maint, child_path(path, "maintenance"), m, m.maintenance);
  }
}

void read_line(YamlReader& r, const YAML::Node& n, const std::string& path, Line& line) {
  if (!r.expect_map(n, path, {"name", "machines", "buffers", "buffer_capacity", "demand", "input_capacity", "lot_size"})) return;
  line.name = r.string(n, "name", path).value_or("");
  const YAML::Node machines = n["machines"];
  std::string mp = child_path(path, "machines");
  if (!machines.IsDefined()) {
    r.error(n, mp, "missing (a line needs at least one machine)");
    return;
  }
  if (!r.expect_list(machines, mp, kMaxMachines)) return;
  line.machines.resize(machines.size());
  for (size_t i = 0; i < machines.size(); ++i) read_machine(r, machines[i], index_path(mp, i), line.machines[i]);

  int64_t default_capacity = r.integer(n, "buffer_capacity", path).value_or(10);
  if (const YAML::Node buffers = n["buffers"]; buffers.IsDefined()) {
    std::string bp = child_path(path, "buffers");
    if (r.expect_list(buffers, bp, kMaxMachines)) {
      line.buffers.resize(buffers.size());
      for (size_t i = 0; i < buffers.size(); ++i) {
        const YAML::Node b = buffers[i];
        std::string p = index_path(bp, i);
        if (!r.expect_map(b, p, {"from", "to", "capacity"})) continue;
        for (const char* end : {"from", "to"}) {
          auto name = r.string(b, end, p);
          int index = name ? find_named(line.machines, *name) : -1;
          if (!name) r.error(b, child_path(p, end), "missing (a machine name of this line)");
          else if (index < 0) r.error(b[end], child_path(p, end), fmt::format("no machine named '{}' on this line", *name));
          (std::string_view(end) == "from" ? line.buffers[i].from : line.buffers[i].to) = index;
        }
        line.buffers[i].capacity = r.integer(b, "capacity", p).value_or(default_capacity);
      }
    }
  } else {
    for (size_t i = 0; i + 1 < line.machines.size(); ++i) {
      line.buffers.push_back({static_cast<int>(i), static_cast<int>(i + 1), default_capacity});
    }
  }
  if (const YAML::Node d = n["demand"]; d.IsDefined()) {
    std::string p = child_path(path, "demand");
    if (r.expect_map(d, p, {"rate_per_hour", "arrivals"})) {
      line.demand.enabled = true;
      if (auto v = r.number(d, "rate_per_hour", p)) line.demand.rate_per_hour = *v;
      else if (!d["rate_per_hour"].IsDefined()) r.error(d, child_path(p, "rate_per_hour"), "missing");
      if (auto v = r.string(d, "arrivals", p)) {
        if (*v == "poisson" || *v == "fixed") line.demand.poisson = *v == "poisson";
        else r.error(d["arrivals"], child_path(p, "arrivals"), "must be poisson or fixed");
      }
    }
  }
  if (auto v = r.integer(n, "input_capacity", path)) line.input_capacity = *v;
  if (auto v = r.integer(n, "lot_size", path)) line.lot_size = *v;
}

}  // namespace

bool read_maintenance(YamlReader& r, const YAML::Node& n, const std::string& path, const Machine& m,
                      Maintenance& out) {
  if (!r.expect_map(n, path, {"policy", "interval", "sensor", "degradation", "threshold", "at", "model", "lead_time", "check_every", "duration", "parts_cost"})) return false;
  auto policy = r.string(n, "policy", path);
  if (!policy) {
    r.error(n, child_path(path, "policy"), "missing (corrective, preventive, condition, scheduled or predictive)");
    return false;
  }
  if (*policy == "corrective") out.policy = MaintenancePolicy::kCorrective;
  else if (*policy == "preventive") out.policy = MaintenancePolicy::kPreventive;
  else if (*policy == "condition") out.policy = MaintenancePolicy::kCondition;
  else if (*policy == "scheduled") out.policy = MaintenancePolicy::kScheduled;
  else if (*policy == "predictive") out.policy = MaintenancePolicy::kPredictive;
  else {
    r.error(n["policy"], child_path(path, "policy"), fmt::format("unknown policy '{}' (corrective, preventive, condition, scheduled or predictive)", *policy));
    return false;
  }
  out.sensor = out.degradation = -1;
  if (out.policy == MaintenancePolicy::kPreventive) {
    if (auto v = r.duration(n, "interval", path)) out.interval = *v;
    else if (!n["interval"].IsDefined()) r.error(n, child_path(path, "interval"), "missing (time between preventive actions)");
  }
  if (out.policy == MaintenancePolicy::kScheduled) {
    // A plan (`twin plan --scenario-out`): the action at each listed time.
    const YAML::Node at = n["at"];
    const std::string at_path = child_path(path, "at");
    out.at.clear();
    if (!at.IsDefined()) {
      r.error(n, at_path, "missing (the times of the actions, e.g. [40h, 88h])");
    } else if (r.expect_list(at, at_path, 100000)) {
      for (size_t i = 0; i < at.size(); ++i) {
        if (auto t = r.duration_item(at[i], index_path(at_path, i))) out.at.push_back(*t);
      }
    }
  }
  if (out.policy == MaintenancePolicy::kPredictive) {
    // A pdm model directory (`officina pdm train --out DIR`); the cli loads it.
    if (auto v = r.string(n, "model", path)) out.model = *v;
    else if (!n["model"].IsDefined()) r.error(n, child_path(path, "model"), "missing (a pdm model directory, from `officina pdm train --out DIR`)");
    if (auto v = r.duration(n, "lead_time", path)) out.lead_time = *v;
    else if (!n["lead_time"].IsDefined()) r.error(n, child_path(path, "lead_time"), "missing (maintain when the RUL lower bound falls below it, e.g. 24h)");
    if (auto v = r.duration(n, "check_every", path)) out.check_every = *v;
  }
  if (out.policy == MaintenancePolicy::kCondition) {
    auto sensor = r.string(n, "sensor", path);
    auto degradation = r.string(n, "degradation", path);
    if (sensor.has_value() == degradation.has_value()) {
      r.error(n, path, "a condition policy watches exactly one 'sensor' or one 'degradation'");
    } else if (sensor) {
      out.sensor = find_named(m.sensors, *sensor);
      if (out.sensor < 0) r.error(n["sensor"], child_path(path, "sensor"), fmt::format("no sensor named '{}' on this machine", *sensor));
    } else {
      out.degradation = find_named(m.degradations, *degradation);
      if (out.degradation < 0) r.error(n["degradation"], child_path(path, "degradation"), fmt::format("no degradation named '{}' on this machine", *degradation));
    }
    if (auto v = r.number(n, "threshold", path)) out.threshold = *v;
    else if (!n["threshold"].IsDefined()) r.error(n, child_path(path, "threshold"), "missing");
  }
  if (auto v = r.distribution(n, "duration", path)) out.duration = *v;
  if (auto v = r.number(n, "parts_cost", path)) out.parts_cost = *v;
  return r.ok();
}

Result<Plant> parse_plant(std::string_view yaml_text, std::string_view source_name) {
  YamlReader r{std::string(source_name)};
  OFFICINA_TRY(YAML::Node root, r.load(yaml_text));
  Plant plant;
  if (!r.expect_map(root, "", {"name", "horizon", "crews", "calendar", "costs", "products", "lines"})) {
    return std::unexpected(r.errors());
  }
  plant.name = r.string(root, "name", "").value_or("plant");
  if (auto v = r.duration(root, "horizon", "")) plant.horizon = *v;
  if (auto v = r.integer(root, "crews", "")) plant.crews = static_cast<int>(std::clamp<int64_t>(*v, -1, 1 << 20));
  if (const YAML::Node c = root["calendar"]; c.IsDefined()) {
    if (r.expect_map(c, "calendar", {"shifts_per_day", "shift_hours", "days_per_week"})) {
      if (auto v = r.integer(c, "shifts_per_day", "calendar")) plant.calendar.shifts_per_day = static_cast<int>(std::clamp<int64_t>(*v, -1, 1000));
      if (auto v = r.number(c, "shift_hours", "calendar")) plant.calendar.shift_hours = *v;
      if (auto v = r.integer(c, "days_per_week", "calendar")) plant.calendar.days_per_week = static_cast<int>(std::clamp<int64_t>(*v, -1, 1000));
    }
  }
  if (const YAML::Node c = root["costs"]; c.IsDefined()) {
    if (r.expect_map(c, "costs", {"downtime_per_hour", "labour_per_hour", "scrap_per_unit"})) {
      if (auto v = r.number(c, "downtime_per_hour", "costs")) plant.costs.downtime_per_hour = *v;
      if (auto v = r.number(c, "labour_per_hour", "costs")) plant.costs.labour_per_hour = *v;
      if (auto v = r.number(c, "scrap_per_unit", "costs")) plant.costs.scrap_per_unit = *v;
    }
  }
  if (const YAML::Node list = root["products"]; list.IsDefined()) {
    if (r.expect_list(list, "products", kMaxItems)) {
      plant.products.resize(list.size());
      for (size_t i = 0; i < list.size(); ++i) {
        std::string p = index_path("products", i);
        if (!r.expect_map(list[i], p, {"name", "mix", "cycle_factor"})) continue;
        plant.products[i].name = r.string(list[i], "name", p).value_or("");
        if (auto v = r.number(list[i], "mix", p)) plant.products[i].mix = *v;
        if (auto v = r.number(list[i], "cycle_factor", p)) plant.products[i].cycle_factor = *v;
      }
    }
  }
  const YAML::Node lines = root["lines"];
  if (!lines.IsDefined()) {
    r.error(root, "lines", "missing (a plant needs at least one line)");
  } else if (r.expect_list(lines, "lines", kMaxLines)) {
    plant.lines.resize(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) read_line(r, lines[i], index_path("lines", i), plant.lines[i]);
  }
  if (!r.ok()) return std::unexpected(r.errors());
  plant.source = std::move(r.source());
  OFFICINA_CHECK(validate_plant(plant));
  return plant;
}

Result<Plant> load_plant(const std::string& path) {
  OFFICINA_TRY(std::string text, read_text_file(path, YamlReader::kMaxInputBytes));
  OFFICINA_TRY(Plant plant, parse_plant(text, path));
  // A model named in the YAML travels with it, so it is read from the YAML's folder.
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  for (Line& line : plant.lines) {
    for (Machine& m : line.machines) {
      std::string& model = m.maintenance.model;
      if (!model.empty() && std::filesystem::path(model).is_relative()) model = (folder / model).string();
    }
  }
  return plant;
}

}  // namespace officina::twin
