#include "pdm/window_features.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace officina::pdm {

namespace {

constexpr std::array<size_t, 3> kMeanWindows = {5, 15, 30};
constexpr std::array<size_t, 3> kSlopeWindows = {10, 30, 60};
constexpr std::array<double, 2> kEwmaWeights = {0.1, 0.03};
constexpr size_t kMinMaxWindow = 30;
constexpr std::array<std::string_view, kFeatureGroupCount> kGroupNames = {
    "last", "mean", "slope", "ewma", "minmax", "cycle", "health", "settings"};

// Prefix sums of x and of i * x along one column, for O(1) window means and slopes.
struct Prefix {
  std::vector<double> sx, six;
  void build(const double* x, size_t n, size_t stride) {
    sx.assign(n + 1, 0.0);
    six.assign(n + 1, 0.0);
    for (size_t i = 0; i < n; ++i) {
      sx[i + 1] = sx[i] + x[i * stride];
      six[i + 1] = six[i] + static_cast<double>(i) * x[i * stride];
    }
  }
  double mean(size_t t, size_t w) const {
    size_t start = t + 1 > w ? t + 1 - w : 0;
    return (sx[t + 1] - sx[start]) / static_cast<double>(t + 1 - start);
  }
  // Least-squares slope of x against the cycle index over [start, t].
  double slope(size_t t, size_t w) const {
    size_t start = t + 1 > w ? t + 1 - w : 0;
    double n = static_cast<double>(t + 1 - start);
    if (n < 2) return 0;
    double s = static_cast<double>(start);
    // Shift the index to start at 0 so the sums stay small.
    double sum_x = sx[t + 1] - sx[start];
    double sum_ix = (six[t + 1] - six[start]) - s * sum_x;
    double sum_i = n * (n - 1) / 2, sum_ii = (n - 1) * n * (2 * n - 1) / 6;
    double den = n * sum_ii - sum_i * sum_i;
    return den > 0 ? (n * sum_ix - sum_i * sum_x) / den : 0;
  }
};

}  // namespace

std::string_view feature_group_name(FeatureGroup group) { return kGroupNames[static_cast<int>(group)]; }

Result<FeatureGroup> parse_feature_group(std::string_view name) {
  for (int g = 0; g < kFeatureGroupCount; ++g) {
    if (kGroupNames[g] == name) return static_cast<FeatureGroup>(g);
  }
  return fail("unknown feature group '{}' (use last, mean, slope, ewma, minmax, cycle, health, settings)", name);
}

WindowFeatures::WindowFeatures(std::vector<std::string> sensor_names, std::vector<std::string> setting_names,
                               uint32_t groups)
    : sensor_names_(std::move(sensor_names)), setting_names_(std::move(setting_names)), groups_(groups) {
  for (const std::string& s : sensor_names_) {
    if (has(FeatureGroup::kLast)) names_.push_back(s + ".last");
    if (has(FeatureGroup::kMean)) {
      for (size_t w : kMeanWindows) names_.push_back(fmt::format("{}.mean{}", s, w));
    }
    if (has(FeatureGroup::kSlope)) {
      for (size_t w : kSlopeWindows) names_.push_back(fmt::format("{}.slope{}", s, w));
    }
    if (has(FeatureGroup::kEwma)) {
      for (double a : kEwmaWeights) names_.push_back(fmt::format("{}.ewma{}", s, a));
    }
    if (has(FeatureGroup::kMinMax)) {
      names_.push_back(fmt::format("{}.min{}", s, kMinMaxWindow));
      names_.push_back(fmt::format("{}.max{}", s, kMinMaxWindow));
    }
  }
  per_sensor_ = sensor_names_.empty() ? 0 : names_.size() / sensor_names_.size();
  if (has(FeatureGroup::kCycle)) names_.push_back("cycles");
  if (has(FeatureGroup::kHealth)) {
    for (const char* n : {"hi.last", "hi.mean10", "hi.slope30", "hi.max"}) names_.push_back(n);
  }
  if (has(FeatureGroup::kSettings)) {
    for (const std::string& s : setting_names_) names_.push_back(s);
  }
}

void WindowFeatures::compute(const UnitSignals& u, const std::vector<size_t>& at, double* out) const {
  const size_t k = u.sensors, width = count();
  Prefix prefix;
  std::vector<double> ewma(u.length * kEwmaWeights.size());
  for (size_t s = 0; s < k; ++s) {
    const double* z = u.normalised.data() + s;
    const double* sm = u.smoothed.data() + s;
    prefix.build(z, u.length, k);
    if (has(FeatureGroup::kEwma)) {
      for (size_t e = 0; e < kEwmaWeights.size(); ++e) {
        double a = kEwmaWeights[e], v = z[0];
        for (size_t t = 0; t < u.length; ++t) {
          v = t == 0 ? z[0] : a * z[t * k] + (1 - a) * v;
          ewma[t * kEwmaWeights.size() + e] = v;
        }
      }
    }
    for (size_t r = 0; r < at.size(); ++r) {
      const size_t t = at[r];
      double* row = out + r * width;
      size_t c = s * per_sensor_;
      if (has(FeatureGroup::kLast)) row[c++] = sm[t * k];
      if (has(FeatureGroup::kMean)) {
        for (size_t w : kMeanWindows) row[c++] = prefix.mean(t, w);
      }
      if (has(FeatureGroup::kSlope)) {
        for (size_t w : kSlopeWindows) row[c++] = prefix.slope(t, w);
      }
      if (has(FeatureGroup::kEwma)) {
        for (size_t e = 0; e < kEwmaWeights.size(); ++e) row[c++] = ewma[t * kEwmaWeights.size() + e];
      }
      if (has(FeatureGroup::kMinMax)) {
        size_t start = t + 1 > kMinMaxWindow ? t + 1 - kMinMaxWindow : 0;
        double lo = sm[start * k], hi = lo;
        for (size_t i = start + 1; i <= t; ++i) {
          lo = std::min(lo, sm[i * k]);
          hi = std::max(hi, sm[i * k]);
        }
        row[c++] = lo;
        row[c++] = hi;
      }
    }
  }
  const size_t base = k * per_sensor_;
  Prefix hp;
  std::vector<double> running_max;
  if (has(FeatureGroup::kHealth)) {
    hp.build(u.health.data(), u.length, 1);
    running_max.resize(u.length);
    for (size_t t = 0; t < u.length; ++t) running_max[t] = t == 0 ? u.health[0] : std::max(running_max[t - 1], u.health[t]);
  }
  for (size_t r = 0; r < at.size(); ++r) {
    const size_t t = at[r];
    double* row = out + r * width;
    size_t c = base;
    if (has(FeatureGroup::kCycle)) row[c++] = static_cast<double>(t + 1);
    if (has(FeatureGroup::kHealth)) {
      row[c++] = u.health[t];
      row[c++] = hp.mean(t, 10);
      row[c++] = hp.slope(t, 30);
      row[c++] = running_max[t];
    }
    if (has(FeatureGroup::kSettings)) {
      for (size_t j = 0; j < u.settings; ++j) row[c++] = u.setting_values[t * u.settings + j];
    }
  }
}

}  // namespace officina::pdm
