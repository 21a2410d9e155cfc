#include "pdm/preprocessor.h"

#include <algorithm>
#include <cmath>

namespace officina::pdm {

namespace {

double median_of(std::vector<double>& v) {
  if (v.empty()) return 0;
  size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), v.begin() + mid)) / 2;
  return m;
}

double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / static_cast<double>(v.size() - 1));
}

// Share of the most frequent value (after sorting).
double mode_share(std::vector<double> v) {
  if (v.empty()) return 1;
  std::sort(v.begin(), v.end());
  size_t best = 1, run = 1;
  for (size_t i = 1; i < v.size(); ++i) {
    run = v[i] == v[i - 1] ? run + 1 : 1;
    best = std::max(best, run);
  }
  return static_cast<double>(best) / static_cast<double>(v.size());
}

}  // namespace

size_t Preprocessor::healthy_cycles(size_t length) const {
  size_t h = static_cast<size_t>(std::ceil(healthy_fraction_ * static_cast<double>(length)));
  return std::min(length, std::max<size_t>(h, 5));
}

Result<Preprocessor> Preprocessor::fit(const RunDataset& train, const PreprocessOptions& options) {
  Preprocessor p;
  p.settings_ = train.setting_count();
  p.sensors_ = train.sensor_count();
  p.sensor_names_ = train.sensor_names;
  p.alpha_ = options.smoothing_alpha;
  p.healthy_fraction_ = options.healthy_fraction;
  std::vector<double> settings;
  settings.reserve(train.total_cycles() * p.settings_);
  for (const Unit& u : train.units) settings.insert(settings.end(), u.settings.begin(), u.settings.end());
  p.regimes_ = RegimeClusters::fit(settings, p.settings_, options.regimes);
  const int regimes = p.regimes_.count();

  // Per regime and sensor: every reading (for the constant test) and the healthy ones.
  std::vector<std::vector<double>> all(regimes * p.sensors_), healthy(regimes * p.sensors_);
  for (const Unit& u : train.units) {
    size_t h = p.healthy_cycles(u.length());
    for (size_t t = 0; t < u.length(); ++t) {
      int r = p.regimes_.assign(train.setting_row(u, t));
      const double* row = train.sensor_row(u, t);
      for (size_t s = 0; s < p.sensors_; ++s) {
        all[r * p.sensors_ + s].push_back(row[s]);
        if (t < h) healthy[r * p.sensors_ + s].push_back(row[s]);
      }
    }
  }
  for (size_t s = 0; s < p.sensors_; ++s) {
    bool varies = false;
    for (int r = 0; r < regimes && !varies; ++r) {
      const auto& v = all[r * p.sensors_ + s];
      if (v.size() < 2) continue;
      double sd = std_of(v);
      double mean = 0;
      for (double x : v) mean += x;
      mean /= static_cast<double>(v.size());
      varies = sd > 1e-9 * (1 + std::abs(mean)) && mode_share(v) < options.constant_mode_share;
    }
    if (varies) {
      p.kept_.push_back(s);
    } else {
      p.dropped_.push_back(train.sensor_names[s]);
    }
  }
  if (p.kept_.empty()) return fail("{}: every sensor is constant (or nearly) within each operating regime", train.source);

  const size_t k = p.kept_.size();
  p.center_.assign(regimes * k, 0.0);
  p.scale_.assign(regimes * k, 1.0);
  for (int r = 0; r < regimes; ++r) {
    for (size_t i = 0; i < k; ++i) {
      size_t s = p.kept_[i];
      // A regime seldom seen in the healthy start borrows all its readings.
      std::vector<double> v = healthy[r * p.sensors_ + s].size() >= 10 ? healthy[r * p.sensors_ + s] : all[r * p.sensors_ + s];
      if (v.empty()) continue;
      double med = median_of(v);
      std::vector<double> dev(v.size());
      for (size_t j = 0; j < v.size(); ++j) dev[j] = std::abs(v[j] - med);
      double scale = 1.4826 * median_of(dev);
      if (!(scale > 1e-12)) scale = std_of(v);
      if (!(scale > 1e-12)) scale = std_of(all[r * p.sensors_ + s]);
      if (!(scale > 1e-12)) scale = 1;
      p.center_[r * k + i] = med;
      p.scale_[r * k + i] = scale;
    }
  }
  return p;
}

Result<void> Preprocessor::check_compatible(const RunDataset& data) const {
  if (data.sensor_count() != sensors_ || data.setting_count() != settings_) {
    return fail("{}: {} settings and {} sensors, but the model was trained on {} settings and {} sensors", data.source,
                data.setting_count(), data.sensor_count(), settings_, sensors_);
  }
  return {};
}

int Preprocessor::regime_of(const RunDataset& data, const Unit& unit, size_t cycle) const {
  return regimes_.assign(data.setting_row(unit, cycle));
}

std::vector<double> Preprocessor::transform(const RunDataset& data, const Unit& unit) const {
  const size_t k = kept_.size();
  std::vector<double> out(unit.length() * k);
  for (size_t t = 0; t < unit.length(); ++t) {
    int r = regime_of(data, unit, t);
    const double* row = data.sensor_row(unit, t);
    for (size_t i = 0; i < k; ++i) out[t * k + i] = (row[kept_[i]] - center_[r * k + i]) / scale_[r * k + i];
  }
  return out;
}

std::vector<double> Preprocessor::smooth(const std::vector<double>& z) const {
  const size_t k = kept_.size();
  std::vector<double> out(z.size());
  for (size_t t = 0; t * k < z.size(); ++t) {
    for (size_t i = 0; i < k; ++i) {
      out[t * k + i] = t == 0 ? z[i] : alpha_ * z[t * k + i] + (1 - alpha_) * out[(t - 1) * k + i];
    }
  }
  return out;
}

std::vector<std::string> Preprocessor::kept_names() const {
  std::vector<std::string> names;
  for (size_t s : kept_) names.push_back(sensor_names_[s]);
  return names;
}

Json Preprocessor::to_json() const {
  return {{"settings", settings_},   {"sensors", sensor_names_}, {"kept", kept_},
          {"dropped", dropped_},     {"regimes", regimes_.to_json()},
          {"center", center_},       {"scale", scale_},
          {"smoothing_alpha", alpha_}, {"healthy_fraction", healthy_fraction_}};
}

Result<Preprocessor> Preprocessor::from_json(const Json& json, std::string_view where) {
  Preprocessor p;
  try {
    p.settings_ = json.at("settings").get<size_t>();
    p.sensor_names_ = json.at("sensors").get<std::vector<std::string>>();
    p.sensors_ = p.sensor_names_.size();
    p.kept_ = json.at("kept").get<std::vector<size_t>>();
    p.dropped_ = json.at("dropped").get<std::vector<std::string>>();
    p.center_ = json.at("center").get<std::vector<double>>();
    p.scale_ = json.at("scale").get<std::vector<double>>();
    p.alpha_ = json.at("smoothing_alpha").get<double>();
    p.healthy_fraction_ = json.at("healthy_fraction").get<double>();
  } catch (const std::exception& e) {
    return fail("{}: preprocessing: {}", where, e.what());
  }
  if (!json.contains("regimes")) return fail("{}: preprocessing: field 'regimes' missing", where);
  OFFICINA_TRY(p.regimes_, RegimeClusters::from_json(json["regimes"], p.settings_, where));
  const size_t k = p.kept_.size();
  if (k == 0 || p.center_.size() != k * p.regimes_.count() || p.scale_.size() != k * p.regimes_.count()) {
    return fail("{}: preprocessing arrays do not match {} kept sensors", where, k);
  }
  for (size_t s : p.kept_) {
    if (s >= p.sensors_) return fail("{}: kept sensor index {} out of range", where, s);
  }
  for (double sc : p.scale_) {
    if (!(sc > 0)) return fail("{}: a normalisation scale is not positive", where);
  }
  return p;
}

}  // namespace officina::pdm
