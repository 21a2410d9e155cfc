// The neural RUL model's input: the last `window` cycles of a unit as a
// sequence of channels, plus scalars that a window cannot show.
//
// Channels per cycle (each block can be switched off through the feature
// groups, for ablations):
//   sensors   the smoothed normalised kept sensors (on while any of the
//             sensor groups last/mean/slope/ewma/minmax is on)
//   health    log(1 + health index)               (group health)
//   settings  the operating settings, standardised (group settings)
// Scalars: the number of cycles seen so far over the mean training unit
// length (group cycle).
// A unit shorter than the window is padded at the front with its first
// cycle, so a one-cycle unit is a constant sequence.
//
// Shapes: window() writes [window, channels()] row-major and [scalars()].
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"
#include "pdm/window_features.h"

namespace officina::pdm {

class SequenceWindow {
 public:
  SequenceWindow() = default;
  // Learns the settings' standardisation and the cycle scale from the
  // training units' signals. Fails when the groups leave no channel.
  static Result<SequenceWindow> fit(const std::vector<UnitSignals>& train, size_t sensors, size_t settings,
                                    uint32_t feature_groups, size_t window);

  size_t window() const { return window_; }
  size_t channels() const { return (use_sensors_ ? sensors_ : 0) + (use_health_ ? 1 : 0) + (use_settings_ ? settings_ : 0); }
  size_t scalars() const { return use_cycle_ ? 1 : 0; }
  size_t sensors() const { return sensors_; }
  size_t settings() const { return settings_; }

  // The input at cycle index t (0-based, < unit.length).
  void window(const UnitSignals& unit, size_t t, float* sequence, float* scalars) const;

  Json to_json() const;
  static Result<SequenceWindow> from_json(const Json& json, std::string_view where);

 private:
  size_t window_ = 30, sensors_ = 0, settings_ = 0;
  bool use_sensors_ = true, use_health_ = true, use_settings_ = true, use_cycle_ = true;
  std::vector<double> setting_mean_, setting_scale_;
  double cycle_scale_ = 1;
};

}  // namespace officina::pdm
