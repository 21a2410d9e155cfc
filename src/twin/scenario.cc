#include "twin/scenario.h"

#include <fmt/format.h>

#include <filesystem>

#include "base/mapped_file.h"
#include "twin/plant_parser.h"
#include "twin/plant_validator.h"
#include "twin/yaml_reader.h"

namespace officina::twin {

namespace {

void scale_mtbf(Machine& m, double factor) {
  for (FailureMode& f : m.failure_modes) {
    if (f.trigger == FailureTrigger::kTime) f.time_to_failure.scale(factor);
  }
  for (Degradation& d : m.degradations) d.rate_per_hour /= factor;
}

bool positive_factor(YamlReader& r, const YAML::Node& node, const std::string& path, double value) {
  if (value > 0 && value <= 1000) return true;
  r.error(node, path, "must be > 0 and <= 1000");
  return false;
}

// The machine named by entry (`name`, and `line` when names repeat across lines).
Machine* find_machine(YamlReader& r, Plant& plant, const YAML::Node& entry, const std::string& path) {
  auto name = r.string(entry, "name", path);
  auto line = r.string(entry, "line", path);
  if (!name) {
    r.error(entry, child_path(path, "name"), "missing (the machine to change)");
    return nullptr;
  }
  Machine* found = nullptr;
  int matches = 0;
  for (Line& l : plant.lines) {
    if (line && l.name != *line) continue;
    for (Machine& m : l.machines) {
      if (m.name == *name) found = &m, ++matches;
    }
  }
  if (matches == 0) r.error(entry["name"], child_path(path, "name"), fmt::format("no machine named '{}' in the plant", *name));
  if (matches > 1) r.error(entry["name"], child_path(path, "name"), fmt::format("'{}' is on several lines; add 'line'", *name));
  return matches == 1 ? found : nullptr;
}

}  // namespace

Result<Scenario> apply_scenario(const Plant& base, std::string_view yaml_text, std::string_view source_name,
                                const std::string& model_folder) {
  YamlReader r{std::string(source_name)};
  OFFICINA_TRY(YAML::Node root, r.load(yaml_text));
  Scenario s;
  s.plant = base;
  s.plant.source.clear();  // base line numbers would point into the wrong file
  Plant& plant = s.plant;
  if (!r.expect_map(root, "", {"name", "description", "demand_scale", "calendar", "crews", "mtbf_factor",
                               "buffer_capacity", "machines", "buffers"})) {
    return std::unexpected(r.errors());
  }
  s.name = r.string(root, "name", "").value_or(std::string(source_name));
  s.description = r.string(root, "description", "").value_or("");
  if (auto v = r.number(root, "demand_scale", ""); v && positive_factor(r, root["demand_scale"], "demand_scale", *v)) {
    for (Line& l : plant.lines) l.demand.rate_per_hour *= *v;
  }
  if (const YAML::Node c = root["calendar"]; c.IsDefined()) {
    if (r.expect_map(c, "calendar", {"shifts_per_day", "shift_hours", "days_per_week"})) {
      if (auto v = r.integer(c, "shifts_per_day", "calendar")) plant.calendar.shifts_per_day = static_cast<int>(std::clamp<int64_t>(*v, -1, 1000));
      if (auto v = r.number(c, "shift_hours", "calendar")) plant.calendar.shift_hours = *v;
      if (auto v = r.integer(c, "days_per_week", "calendar")) plant.calendar.days_per_week = static_cast<int>(std::clamp<int64_t>(*v, -1, 1000));
    }
  }
  if (auto v = r.integer(root, "crews", "")) plant.crews = static_cast<int>(std::clamp<int64_t>(*v, -1, 1 << 20));
  if (auto v = r.number(root, "mtbf_factor", ""); v && positive_factor(r, root["mtbf_factor"], "mtbf_factor", *v)) {
    for (Line& l : plant.lines) {
      for (Machine& m : l.machines) scale_mtbf(m, *v);
    }
  }
  if (auto v = r.integer(root, "buffer_capacity", "")) {
    for (Line& l : plant.lines) {
      for (Buffer& b : l.buffers) b.capacity = *v;
    }
  }
  if (const YAML::Node list = root["machines"]; list.IsDefined() && r.expect_list(list, "machines", 10000)) {
    for (size_t i = 0; i < list.size(); ++i) {
      std::string p = index_path("machines", i);
      if (!r.expect_map(list[i], p, {"name", "line", "mtbf_factor", "maintenance", "capacity"})) continue;
      Machine* m = find_machine(r, plant, list[i], p);
      if (!m) continue;
      if (auto v = r.number(list[i], "mtbf_factor", p); v && positive_factor(r, list[i]["mtbf_factor"], child_path(p, "mtbf_factor"), *v)) {
        scale_mtbf(*m, *v);
      }
      if (auto v = r.integer(list[i], "capacity", p)) m->capacity = static_cast<int>(std::clamp<int64_t>(*v, -1, 1 << 20));
      if (const YAML::Node mt = list[i]["maintenance"]; mt.IsDefined()) {
        read_maintenance(r, mt, child_path(p, "maintenance"), *m, m->maintenance);
        // Only a model named here is the scenario's; the base plant's is already resolved.
        std::string& model = m->maintenance.model;
        if (mt["model"].IsDefined() && !model.empty() && !model_folder.empty() && std::filesystem::path(model).is_relative()) {
          model = (std::filesystem::path(model_folder) / model).string();
        }
      }
    }
  }
  if (const YAML::Node list = root["buffers"]; list.IsDefined() && r.expect_list(list, "buffers", 10000)) {
    for (size_t i = 0; i < list.size(); ++i) {
      std::string p = index_path("buffers", i);
      if (!r.expect_map(list[i], p, {"line", "from", "capacity"})) continue;
      auto line = r.string(list[i], "line", p);
      auto from = r.string(list[i], "from", p);
      auto capacity = r.integer(list[i], "capacity", p);
      if (!from || !capacity) {
        r.error(list[i], p, "needs 'from' (the machine before the buffer) and 'capacity'");
        continue;
      }
      int matches = 0;
      for (Line& l : plant.lines) {
        if (line && l.name != *line) continue;
        for (Buffer& b : l.buffers) {
          if (b.from >= 0 && l.machines[b.from].name == *from) b.capacity = *capacity, ++matches;
        }
      }
      if (matches != 1) r.error(list[i], child_path(p, "from"), matches == 0 ? fmt::format("no buffer after a machine named '{}'", *from) : fmt::format("'{}' is on several lines; add 'line'", *from));
    }
  }
  if (!r.ok()) return std::unexpected(r.errors());
  plant.source = std::move(r.source());
  if (auto v = validate_plant(plant); !v) {
    return fail("{}: the scenario makes the plant invalid:\n{}", source_name, v.error().message);
  }
  return s;
}

Result<Scenario> load_scenario(const Plant& base, const std::string& path) {
  OFFICINA_TRY(std::string text, read_text_file(path, YamlReader::kMaxInputBytes));
  return apply_scenario(base, text, path, std::filesystem::path(path).parent_path().string());
}

}  // namespace officina::twin
