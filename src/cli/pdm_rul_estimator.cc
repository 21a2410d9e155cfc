#include "pdm_rul_estimator.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

namespace officina::cli {

namespace {

std::string machine_path(int line, int machine) {
  return fmt::format("lines[{}].machines[{}].maintenance.model", line, machine);
}

}  // namespace

Result<std::unique_ptr<PdmRulEstimator>> PdmRulEstimator::load(const twin::Plant& plant) {
  auto out = std::unique_ptr<PdmRulEstimator>(new PdmRulEstimator());
  for (size_t l = 0; l < plant.lines.size(); ++l) {
    const twin::Line& line = plant.lines[l];
    for (size_t i = 0; i < line.machines.size(); ++i) {
      const twin::Machine& m = line.machines[i];
      if (m.maintenance.policy != twin::MaintenancePolicy::kPredictive) continue;
      const std::string where = machine_path(static_cast<int>(l), static_cast<int>(i));
      const std::string& dir = m.maintenance.model;
      if (dir.empty()) return fail("{}: missing (machine '{}' has the predictive policy)", where, m.name);
      auto& slot = out->models_[dir];
      if (!slot) {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec)) {
          return fail("{}: '{}' is not a directory (train one with `officina pdm train --out DIR`)", where, dir);
        }
        auto model = pdm::RulModel::load(dir);
        if (!model) return fail("{}: {}", where, model.error().message);
        slot = std::make_unique<pdm::RulModel>(std::move(*model));
      }
      Served s;
      s.model = slot.get();
      s.sensors = m.sensors.size();
      s.tick_seconds = m.sensors.empty() ? 60 : m.sensors[0].period;
      for (const twin::Sensor& sensor : m.sensors) {
        s.tick_seconds = std::min(s.tick_seconds, sensor.period);
        s.sensor_names.push_back(sensor.name);
      }
      out->served_[{static_cast<int>(l), static_cast<int>(i)}] = std::move(s);
    }
  }
  OFFICINA_CHECK(out->check(plant));
  return out;
}

Result<void> PdmRulEstimator::check(const twin::Plant& plant) const {
  for (const auto& [key, s] : served_) {
    const auto [l, i] = key;
    if (l >= static_cast<int>(plant.lines.size()) || i >= static_cast<int>(plant.lines[l].machines.size())) {
      return fail("{}: the plant changed since the models were loaded", machine_path(l, i));
    }
    const twin::Machine& m = plant.lines[l].machines[i];
    const std::string where = machine_path(l, i);
    const pdm::Preprocessor& pre = s.model->preprocessor();
    // The model was trained on sensors + settings columns; the twin's rows
    // have 3 settings and the machine's sensors.
    pdm::RunDataset probe;
    probe.source = m.maintenance.model;
    probe.setting_names = {"setting1", "setting2", "setting3"};
    probe.sensor_names = s.sensor_names;
    if (auto ok = pre.check_compatible(probe); !ok) {
      return fail("{}: the model does not fit machine '{}' (sensors {}): {}", where, m.name,
                  fmt::join(s.sensor_names, ", "), ok.error().message);
    }
    // Models made from `twin export-runs` keep the sensor names; generic
    // names (sensorN, from a header-less file) cannot be checked by name.
    for (const std::string& kept : s.model->sensor_names()) {
      const bool generic = kept.starts_with("sensor");
      if (!generic && std::find(s.sensor_names.begin(), s.sensor_names.end(), kept) == s.sensor_names.end()) {
        return fail("{}: the model reads sensor '{}', which machine '{}' does not have (it has {})", where, kept, m.name,
                    fmt::join(s.sensor_names, ", "));
      }
    }
  }
  return {};
}

Result<twin::RulEstimate> PdmRulEstimator::estimate(int line, int machine, std::span<const double> rows,
                                                    size_t columns) const {
  auto it = served_.find({line, machine});
  if (it == served_.end()) return fail("{}: no model loaded for this machine", machine_path(line, machine));
  const Served& s = it->second;
  if (columns != 4 + s.sensors || rows.empty() || rows.size() % columns != 0) {
    return fail("{}: {} readings of width {} do not match the machine's {} sensors", machine_path(line, machine),
                rows.size(), columns, s.sensors);
  }
  const size_t cycles = rows.size() / columns;
  const size_t first = cycles > kMaxCycles ? cycles - kMaxCycles : 0;
  pdm::RunDataset data;
  data.source = machine_path(line, machine);
  data.setting_names = {"setting1", "setting2", "setting3"};
  data.sensor_names = s.sensor_names;
  pdm::Unit& unit = data.units.emplace_back();
  unit.id = 1;
  unit.cycles.reserve(cycles - first);
  unit.settings.reserve((cycles - first) * 3);
  unit.sensors.reserve((cycles - first) * s.sensors);
  for (size_t t = first; t < cycles; ++t) {
    const double* row = rows.data() + t * columns;
    unit.cycles.push_back(static_cast<int64_t>(t + 1));
    unit.settings.insert(unit.settings.end(), row + 1, row + 4);
    unit.sensors.insert(unit.sensors.end(), row + 4, row + columns);
  }
  OFFICINA_TRY(std::vector<pdm::UnitPrediction> preds, s.model->predict(data));
  const pdm::UnitPrediction& p = preds.front();
  twin::RulEstimate e;
  e.health_index = p.health_index;
  e.rul = std::max(0.0, p.rul) * s.tick_seconds;
  e.rul_lo = std::max(0.0, p.lo) * s.tick_seconds;
  e.rul_hi = std::max(0.0, p.hi) * s.tick_seconds;
  return e;
}

}  // namespace officina::cli
