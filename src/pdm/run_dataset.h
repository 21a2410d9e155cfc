// Run-to-failure (or truncated) sensor histories of a fleet of units, as the
// predictive-maintenance layer holds them after reading a file: each unit is
// a sequence of cycles with a few operating settings and N sensor readings.
// Training sets run every unit up to its failure (the last cycle is the
// failure); test sets stop earlier, with the true remaining useful life (RUL)
// of each unit given separately (read_rul_file in run_reader.h).
//
// Shapes: Unit::settings is [cycles, settings], Unit::sensors is
// [cycles, sensors], both row-major. Plain data; share read-only between
// threads freely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace officina::pdm {

struct Unit {
  int64_t id = 0;
  std::vector<int64_t> cycles;   // strictly increasing
  std::vector<double> settings;  // [cycles, settings]
  std::vector<double> sensors;   // [cycles, sensors]

  size_t length() const { return cycles.size(); }
};

struct RunDataset {
  std::string source;  // file the data came from (for messages)
  std::vector<std::string> setting_names;
  std::vector<std::string> sensor_names;
  std::vector<Unit> units;  // in file order

  size_t setting_count() const { return setting_names.size(); }
  size_t sensor_count() const { return sensor_names.size(); }
  size_t total_cycles() const;
  const double* sensor_row(const Unit& u, size_t t) const { return u.sensors.data() + t * sensor_count(); }
  const double* setting_row(const Unit& u, size_t t) const { return u.settings.data() + t * setting_count(); }
};

// The same data keeping, for every unit, only cycles [0, keep) (keep >= 1).
Unit truncate_unit(const Unit& unit, size_t keep, size_t settings, size_t sensors);

// Writes the C-MAPSS text layout (unit cycle settings... sensors..., space
// separated, no header). Values keep enough digits to read back exactly.
std::string format_cmapss(const RunDataset& data);

// Checks a dataset made in memory (readers already guarantee this): at least
// one unit, every unit non-empty with strictly increasing cycles, matching
// row widths and finite values. The message names the unit and cycle.
Result<void> validate_dataset(const RunDataset& data);

}  // namespace officina::pdm
