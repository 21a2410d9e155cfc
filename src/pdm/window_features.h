// Window features for remaining-useful-life regression: what a unit's
// history up to a cycle looks like, as one fixed-length row.
//
// Groups (each can be switched off, for ablations):
//   last      the smoothed normalised value of each sensor
//   mean      means of the normalised values over the last 5, 15 and 30 cycles
//   slope     least-squares slopes (per cycle) over the last 10, 30 and 60 cycles
//   ewma      slow EWMAs (weights 0.1 and 0.03) from the unit's first cycle
//   minmax    minimum and maximum of the smoothed values over the last 30 cycles
//   cycle     the number of cycles seen so far
//   health    the health index: its value, 10-cycle mean, 30-cycle slope and maximum so far
//   settings  the operating settings of the cycle
// A window longer than the history uses what there is (a one-cycle unit
// has slope 0 and every mean equal to its one value), so short test units
// need no special case.
//
// Shapes: UnitSignals holds [cycles, sensors] (normalised and smoothed),
// [cycles] (health index) and [cycles, settings]; compute() writes
// [rows, count()]. Thread-safety: const methods are safe concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace officina::pdm {

enum class FeatureGroup { kLast, kMean, kSlope, kEwma, kMinMax, kCycle, kHealth, kSettings };
inline constexpr int kFeatureGroupCount = 8;
inline constexpr uint32_t kAllFeatureGroups = (1u << kFeatureGroupCount) - 1;

std::string_view feature_group_name(FeatureGroup group);
// "slope" -> FeatureGroup::kSlope; an error lists the names.
Result<FeatureGroup> parse_feature_group(std::string_view name);
inline uint32_t feature_group_bit(FeatureGroup g) { return 1u << static_cast<int>(g); }

struct UnitSignals {
  size_t length = 0;
  size_t sensors = 0;
  size_t settings = 0;
  std::vector<double> normalised;  // [length, sensors]
  std::vector<double> smoothed;    // [length, sensors]
  std::vector<double> health;      // [length]
  std::vector<double> setting_values;  // [length, settings]
};

class WindowFeatures {
 public:
  WindowFeatures(std::vector<std::string> sensor_names, std::vector<std::string> setting_names, uint32_t groups);

  size_t count() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  uint32_t groups() const { return groups_; }

  // Features at each cycle index in `at` (0-based, < length): out is
  // [at.size(), count()].
  void compute(const UnitSignals& unit, const std::vector<size_t>& at, double* out) const;

 private:
  bool has(FeatureGroup g) const { return (groups_ & feature_group_bit(g)) != 0; }
  std::vector<std::string> sensor_names_, setting_names_;
  uint32_t groups_;
  size_t per_sensor_ = 0;  // columns of each sensor's block, sensors first
  std::vector<std::string> names_;
};

}  // namespace officina::pdm
