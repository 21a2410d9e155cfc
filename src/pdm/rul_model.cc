#include "pdm/rul_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/random.h"

namespace officina::pdm {

namespace {

void shuffle(std::vector<size_t>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng.uniform() * static_cast<double>(i));
    std::swap(v[i - 1], v[j]);
  }
}

RunDataset subset(const RunDataset& data, const std::vector<size_t>& units) {
  RunDataset out;
  out.source = data.source;
  out.setting_names = data.setting_names;
  out.sensor_names = data.sensor_names;
  for (size_t u : units) out.units.push_back(data.units[u]);
  return out;
}

}  // namespace

UnitSignals RulModel::signals(const RunDataset& data, const Unit& unit) const {
  UnitSignals s;
  s.length = unit.length();
  s.sensors = preprocess_.kept_count();
  s.settings = data.setting_count();
  s.normalised = preprocess_.transform(data, unit);
  s.smoothed = preprocess_.smooth(s.normalised);
  s.health = health_.health_index(s.smoothed);
  s.setting_values = unit.settings;
  return s;
}

double RulModel::predict_row(const double* features) const {
  double sum = 0;
  for (const GbtModel& m : members_) sum += m.predict(features);
  return std::max(0.0, sum / static_cast<double>(members_.size()));
}

Result<RulModel> RulModel::train(const RunDataset& data, const RulTrainOptions& options, ThreadPool& pool,
                                 RulTrainReport* report) {
  if (options.family == RulFamily::kNeural) {
    return fail("the neural RUL model (nn) arrives with officina's training engine (issue 5); use gbt or ensemble");
  }
  OFFICINA_CHECK(validate_dataset(data));
  const size_t n = data.units.size();
  if (n < 3) return fail("{}: {} unit(s); training needs at least 3 (to train, validate and calibrate)", data.source, n);
  if (!(options.rul_cap >= 0)) return fail("--rul-cap must be >= 0 (0 = no cap)");
  if (!(options.coverage > 0 && options.coverage < 1)) return fail("coverage must be in (0, 1)");

  RulModel model;
  model.family_ = options.family;
  model.rul_cap_ = options.rul_cap;
  model.seed_ = options.seed;
  model.feature_groups_ = options.feature_groups;
  model.setting_names_ = data.setting_names;

  Rng rng(mix_seed(options.seed ^ 0x5b1177ull));
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  shuffle(order, rng);
  size_t n_cal = std::clamp<size_t>(static_cast<size_t>(std::lround(options.calibration_fraction * static_cast<double>(n))),
                                    1, n - 2);
  std::vector<size_t> cal_units(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_cal));
  std::vector<size_t> train_units(order.begin() + static_cast<std::ptrdiff_t>(n_cal), order.end());
  const RunDataset train_data = subset(data, train_units);

  PreprocessOptions pre = options.preprocess;
  pre.regimes.seed = options.seed;
  OFFICINA_TRY(model.preprocess_, Preprocessor::fit(train_data, pre));
  const size_t k = model.preprocess_.kept_count();
  {
    std::vector<double> healthy;
    for (const Unit& u : train_data.units) {
      std::vector<double> sm = model.preprocess_.smooth(model.preprocess_.transform(train_data, u));
      healthy.insert(healthy.end(), sm.begin(), sm.begin() + static_cast<std::ptrdiff_t>(model.preprocess_.healthy_cycles(u.length()) * k));
    }
    OFFICINA_TRY(model.health_, HealthModel::fit(healthy, k, options.health));
  }
  WindowFeatures wf(model.preprocess_.kept_names(), data.setting_names, options.feature_groups);
  model.feature_names_ = wf.names();
  const size_t width = wf.count();
  if (width == 0) return fail("no features: every feature group is switched off");

  // Rows, strided from each unit's failure backwards so the end of life,
  // where the target moves, is always sampled. Every unit weighs the same in
  // the loss (weights 1 / its rows, scaled to a mean of 1): test units are
  // cut once each, whatever their length, and weighting by length would
  // bias the model towards long runs (for random failures, towards a longer
  // RUL: the inspection paradox).
  const size_t per_unit = std::clamp<size_t>(options.max_train_rows / std::max<size_t>(train_data.units.size(), 1), 20, 400);
  std::vector<double> x, y;
  std::vector<size_t> row_unit;  // position in train_units
  for (size_t i = 0; i < train_data.units.size(); ++i) {
    const Unit& u = train_data.units[i];
    UnitSignals sig = model.signals(train_data, u);
    std::vector<size_t> at;
    const size_t stride = (u.length() + per_unit - 1) / per_unit;
    for (size_t t = u.length(); t >= 1 && t <= u.length(); t -= std::min(stride, t)) {
      at.push_back(t - 1);
      if (t <= stride) break;
    }
    const size_t first = x.size() / width;
    x.resize((first + at.size()) * width);
    wf.compute(sig, at, x.data() + first * width);
    for (size_t t : at) {
      double rul = static_cast<double>(u.cycles.back() - u.cycles[t]);
      y.push_back(options.rul_cap > 0 ? std::min(rul, options.rul_cap) : rul);
      row_unit.push_back(i);
    }
  }
  const size_t rows = y.size();
  std::vector<double> weight(rows);
  {
    std::vector<size_t> per(train_data.units.size(), 0);
    for (size_t u : row_unit) ++per[u];
    const double scale = static_cast<double>(rows) / static_cast<double>(train_data.units.size());
    for (size_t r = 0; r < rows; ++r) weight[r] = scale / static_cast<double>(per[row_unit[r]]);
  }
  FeatureBinner binner = FeatureBinner::fit(x.data(), rows, width, options.gbt.max_bins);
  BinnedMatrix bins = binner.transform(x.data(), rows);

  // Folds over the training units: member m validates on fold m.
  const size_t n_train = train_data.units.size();
  int members = options.family == RulFamily::kEnsemble ? std::clamp<int>(options.members, 2, static_cast<int>(n_train)) : 1;
  std::vector<int> fold(n_train);
  if (members == 1) {
    size_t n_val = std::clamp<size_t>(static_cast<size_t>(std::lround(options.validation_fraction * static_cast<double>(n_train))),
                                      1, n_train - 1);
    for (size_t i = 0; i < n_train; ++i) fold[i] = i < n_val ? 0 : -1;  // units are already shuffled
  } else {
    for (size_t i = 0; i < n_train; ++i) fold[i] = static_cast<int>(i % static_cast<size_t>(members));
  }
  std::vector<Result<GbtModel>> trained(members, Result<GbtModel>(fail("not trained")));
  std::vector<GbtTrainInfo> infos(members);
  auto train_member = [&](int m, ThreadPool* inner) {
    std::vector<uint32_t> tr, va;
    for (size_t r = 0; r < rows; ++r) (fold[row_unit[r]] == m ? va : tr).push_back(static_cast<uint32_t>(r));
    GbtOptions o = options.gbt;
    o.seed = mix_seed(options.seed * 1000003ull + static_cast<uint64_t>(m));
    trained[m] = GbtModel::train(bins, binner, y, weight, tr, va, o, inner, &infos[m]);
  };
  if (members == 1) {
    train_member(0, &pool);
  } else {
    pool.run(members, [&](int64_t m, int) { train_member(static_cast<int>(m), nullptr); });
  }
  for (auto& t : trained) {
    if (!t) return std::unexpected(t.error());
    model.members_.push_back(std::move(*t));
  }

  // Calibration on truncated held-out units, like the test sets.
  std::vector<double> pred, truth, feat(width);
  for (size_t u : cal_units) {
    const Unit& unit = data.units[u];
    UnitSignals sig = model.signals(data, unit);
    const size_t len = unit.length(), lo = std::min(options.min_test_cycles, len);
    for (int p = 0; p < options.calibration_points; ++p) {
      size_t cut = lo + static_cast<size_t>(rng.uniform() * static_cast<double>(len - lo + 1));
      cut = std::min(cut, len);
      wf.compute(sig, {cut - 1}, feat.data());
      pred.push_back(model.predict_row(feat.data()));
      truth.push_back(static_cast<double>(unit.cycles.back() - unit.cycles[cut - 1]));
    }
  }
  OFFICINA_TRY(model.conformal_, ConformalCalibrator::fit(pred, truth, options.coverage));
  if (report) {
    report->train_units = n_train;
    report->calibration_units = n_cal;
    report->rows = rows;
    report->features = width;
    report->members = infos;
    report->dropped_sensors = model.preprocess_.dropped_names();
    report->regimes = model.preprocess_.regimes().count();
  }
  return model;
}

Result<std::vector<UnitPrediction>> RulModel::predict(const RunDataset& data) const {
  OFFICINA_CHECK(validate_dataset(data));
  OFFICINA_CHECK(preprocess_.check_compatible(data));
  WindowFeatures wf(preprocess_.kept_names(), setting_names_, feature_groups_);
  const std::vector<std::string> names = preprocess_.kept_names();
  std::vector<UnitPrediction> out;
  std::vector<double> feat(wf.count()), contributions;
  for (const Unit& unit : data.units) {
    UnitSignals sig = signals(data, unit);
    const size_t t = unit.length() - 1;
    wf.compute(sig, {t}, feat.data());
    UnitPrediction p;
    p.unit = unit.id;
    p.cycles = unit.length();
    p.rul = predict_row(feat.data());
    Interval iv = conformal_.interval(p.rul);
    p.lo = iv.lo;
    p.hi = iv.hi;
    p.health_index = sig.health[t];
    if (p.health_index > health_.off_threshold()) {
      health_.health_index(sig.smoothed, &contributions);
      for (size_t d : health_.drivers(contributions.data() + t * preprocess_.kept_count())) p.drivers.push_back(names[d]);
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<Alarm>> RulModel::anomalies(const RunDataset& data) const {
  OFFICINA_CHECK(validate_dataset(data));
  OFFICINA_CHECK(preprocess_.check_compatible(data));
  std::vector<Alarm> out;
  for (const Unit& unit : data.units) {
    std::vector<double> sm = preprocess_.smooth(preprocess_.transform(data, unit));
    for (Alarm& a : health_.alarms(unit.id, unit.cycles, sm)) out.push_back(std::move(a));
  }
  return out;
}

}  // namespace officina::pdm
