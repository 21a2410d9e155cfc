#include "pdm/sequence_window.h"

#include <algorithm>
#include <cmath>

namespace officina::pdm {

namespace {

bool any_sensor_group(uint32_t groups) {
  for (FeatureGroup g : {FeatureGroup::kLast, FeatureGroup::kMean, FeatureGroup::kSlope, FeatureGroup::kEwma,
                         FeatureGroup::kMinMax}) {
    if (groups & feature_group_bit(g)) return true;
  }
  return false;
}

}  // namespace

Result<SequenceWindow> SequenceWindow::fit(const std::vector<UnitSignals>& train, size_t sensors, size_t settings,
                                           uint32_t feature_groups, size_t window) {
  if (window < 1 || window > 1000) return fail("the sequence window must be 1 to 1000 cycles, not {}", window);
  SequenceWindow w;
  w.window_ = window;
  w.sensors_ = sensors;
  w.settings_ = settings;
  w.use_sensors_ = any_sensor_group(feature_groups) && sensors > 0;
  w.use_health_ = (feature_groups & feature_group_bit(FeatureGroup::kHealth)) != 0;
  w.use_settings_ = (feature_groups & feature_group_bit(FeatureGroup::kSettings)) != 0 && settings > 0;
  w.use_cycle_ = (feature_groups & feature_group_bit(FeatureGroup::kCycle)) != 0;
  if (w.channels() == 0) {
    return fail("the neural model needs a sequence: keep a sensor group, health or settings");
  }
  // Settings: mean and standard deviation over every training cycle.
  w.setting_mean_.assign(settings, 0.0);
  w.setting_scale_.assign(settings, 1.0);
  double cycles = 0, length_sum = 0;
  std::vector<double> sum(settings, 0.0), sum2(settings, 0.0);
  for (const UnitSignals& u : train) {
    length_sum += static_cast<double>(u.length);
    for (size_t t = 0; t < u.length; ++t) {
      for (size_t j = 0; j < settings; ++j) {
        const double v = u.setting_values[t * settings + j];
        sum[j] += v;
        sum2[j] += v * v;
      }
    }
    cycles += static_cast<double>(u.length);
  }
  if (cycles > 0) {
    for (size_t j = 0; j < settings; ++j) {
      const double mean = sum[j] / cycles;
      const double var = std::max(0.0, sum2[j] / cycles - mean * mean);
      w.setting_mean_[j] = mean;
      // A constant setting carries nothing; scale 1 keeps it at 0.
      w.setting_scale_[j] = var > 1e-12 * std::max(1.0, mean * mean) ? std::sqrt(var) : 1.0;
    }
    w.cycle_scale_ = std::max(1.0, length_sum / static_cast<double>(train.size()));
  }
  return w;
}

void SequenceWindow::window(const UnitSignals& unit, size_t t, float* sequence, float* scalars) const {
  const size_t c = channels();
  for (size_t i = 0; i < window_; ++i) {
    // Row i of the window is cycle t - (window - 1) + i, clamped to the first.
    const size_t back = window_ - 1 - i;
    const size_t cycle = t >= back ? t - back : 0;
    float* row = sequence + i * c;
    size_t k = 0;
    if (use_sensors_) {
      const double* s = unit.smoothed.data() + cycle * unit.sensors;
      for (size_t j = 0; j < sensors_; ++j) row[k++] = static_cast<float>(s[j]);
    }
    if (use_health_) row[k++] = static_cast<float>(std::log1p(std::max(0.0, unit.health[cycle])));
    if (use_settings_) {
      const double* s = unit.setting_values.data() + cycle * unit.settings;
      for (size_t j = 0; j < settings_; ++j) row[k++] = static_cast<float>((s[j] - setting_mean_[j]) / setting_scale_[j]);
    }
  }
  if (use_cycle_) scalars[0] = static_cast<float>(static_cast<double>(t + 1) / cycle_scale_);
}

Json SequenceWindow::to_json() const {
  return {{"window", window_},
          {"sensors", sensors_},
          {"settings", settings_},
          {"use_sensors", use_sensors_},
          {"use_health", use_health_},
          {"use_settings", use_settings_},
          {"use_cycle", use_cycle_},
          {"setting_mean", setting_mean_},
          {"setting_scale", setting_scale_},
          {"cycle_scale", cycle_scale_}};
}

Result<SequenceWindow> SequenceWindow::from_json(const Json& json, std::string_view where) {
  SequenceWindow w;
  try {
    w.window_ = json.at("window").get<size_t>();
    w.sensors_ = json.at("sensors").get<size_t>();
    w.settings_ = json.at("settings").get<size_t>();
    w.use_sensors_ = json.at("use_sensors").get<bool>();
    w.use_health_ = json.at("use_health").get<bool>();
    w.use_settings_ = json.at("use_settings").get<bool>();
    w.use_cycle_ = json.at("use_cycle").get<bool>();
    w.setting_mean_ = json.at("setting_mean").get<std::vector<double>>();
    w.setting_scale_ = json.at("setting_scale").get<std::vector<double>>();
    w.cycle_scale_ = json.at("cycle_scale").get<double>();
  } catch (const std::exception& e) {
    return fail("{}: sequence input: {}", where, e.what());
  }
  if (w.window_ < 1 || w.window_ > 1000 || w.channels() == 0 || w.setting_mean_.size() != w.settings_ ||
      w.setting_scale_.size() != w.settings_ || !(w.cycle_scale_ > 0)) {
    return fail("{}: sequence input: inconsistent sizes", where);
  }
  for (double s : w.setting_scale_) {
    if (!(s > 0) || !std::isfinite(s)) return fail("{}: sequence input: a setting scale is not positive", where);
  }
  return w;
}

}  // namespace officina::pdm
