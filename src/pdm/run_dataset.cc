#include "pdm/run_dataset.h"

#include <cmath>

#include <fmt/format.h>

namespace officina::pdm {

size_t RunDataset::total_cycles() const {
  size_t n = 0;
  for (const Unit& u : units) n += u.length();
  return n;
}

Unit truncate_unit(const Unit& unit, size_t keep, size_t settings, size_t sensors) {
  Unit out;
  out.id = unit.id;
  keep = std::min(keep, unit.length());
  out.cycles.assign(unit.cycles.begin(), unit.cycles.begin() + keep);
  out.settings.assign(unit.settings.begin(), unit.settings.begin() + keep * settings);
  out.sensors.assign(unit.sensors.begin(), unit.sensors.begin() + keep * sensors);
  return out;
}

std::string format_cmapss(const RunDataset& data) {
  std::string text;
  const size_t ns = data.setting_count(), nx = data.sensor_count();
  for (const Unit& u : data.units) {
    for (size_t t = 0; t < u.length(); ++t) {
      fmt::format_to(std::back_inserter(text), "{} {}", u.id, u.cycles[t]);
      // {} prints the shortest text that reads back to the same double.
      for (size_t j = 0; j < ns; ++j) fmt::format_to(std::back_inserter(text), " {}", u.settings[t * ns + j]);
      for (size_t j = 0; j < nx; ++j) fmt::format_to(std::back_inserter(text), " {}", u.sensors[t * nx + j]);
      text += '\n';
    }
  }
  return text;
}

Result<void> validate_dataset(const RunDataset& data) {
  if (data.units.empty()) return fail("{}: no units", data.source);
  if (data.sensor_names.empty()) return fail("{}: no sensor columns", data.source);
  const size_t ns = data.setting_count(), nx = data.sensor_count();
  for (const Unit& u : data.units) {
    if (u.cycles.empty()) return fail("{}: unit {} has no cycles", data.source, u.id);
    if (u.settings.size() != u.length() * ns || u.sensors.size() != u.length() * nx) {
      return fail("{}: unit {}: row widths do not match the {} settings and {} sensors", data.source, u.id, ns, nx);
    }
    for (size_t t = 0; t < u.length(); ++t) {
      if (t > 0 && u.cycles[t] <= u.cycles[t - 1]) {
        return fail("{}: unit {}: cycle {} follows cycle {}; cycles must increase", data.source, u.id, u.cycles[t],
                    u.cycles[t - 1]);
      }
      for (size_t j = 0; j < ns; ++j) {
        if (!std::isfinite(u.settings[t * ns + j])) {
          return fail("{}: unit {} cycle {}: setting {} is not finite", data.source, u.id, u.cycles[t], j + 1);
        }
      }
      for (size_t j = 0; j < nx; ++j) {
        if (!std::isfinite(u.sensors[t * nx + j])) {
          return fail("{}: unit {} cycle {}: sensor {} is not finite", data.source, u.id, u.cycles[t],
                      data.sensor_names[j]);
        }
      }
    }
  }
  return {};
}

}  // namespace officina::pdm
