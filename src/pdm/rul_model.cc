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

double RulModel::predict_at(const WindowFeatures& wf, const UnitSignals& sig, size_t t,
                            std::vector<double>& features) const {
  double gbt = 0, nn = 0;
  if (!members_.empty()) {
    features.resize(wf.count());
    wf.compute(sig, {t}, features.data());
    for (const GbtModel& m : members_) gbt += m.predict(features.data());
    gbt /= static_cast<double>(members_.size());
  }
  if (!nets_.empty()) {
    std::vector<float> x(sequence_.window() * sequence_.channels()), s(sequence_.scalars() + 1);
    sequence_.window(sig, t, x.data(), s.data());
    for (const SequenceNet& net : nets_) nn += net.predict(x.data(), s.data(), 1)[0];
    nn /= static_cast<double>(nets_.size());
  }
  const double p = members_.empty() ? nn : nets_.empty() ? gbt : 0.5 * (gbt + nn);
  return std::max(0.0, p);
}

namespace {

// Cycle indices of each unit, strided from its failure backwards so the end
// of life, where the target moves, is always sampled; per_unit at most.
struct Positions {
  std::vector<size_t> unit, cycle;
  std::vector<double> y, weight;
};

Positions sample_positions(const RunDataset& data, size_t per_unit, double cap) {
  Positions p;
  std::vector<size_t> count(data.units.size(), 0);
  for (size_t i = 0; i < data.units.size(); ++i) {
    const Unit& u = data.units[i];
    const size_t stride = (u.length() + per_unit - 1) / per_unit;
    for (size_t t = u.length(); t >= 1 && t <= u.length(); t -= std::min(stride, t)) {
      const double rul = static_cast<double>(u.cycles.back() - u.cycles[t - 1]);
      p.unit.push_back(i);
      p.cycle.push_back(t - 1);
      p.y.push_back(cap > 0 ? std::min(rul, cap) : rul);
      ++count[i];
      if (t <= stride) break;
    }
  }
  // Every unit weighs the same in the loss (weights 1 / its rows, scaled to
  // a mean of 1): test units are cut once each, whatever their length, and
  // weighting by length would bias the model towards long runs (for random
  // failures, towards a longer RUL: the inspection paradox).
  const double scale = static_cast<double>(p.y.size()) / static_cast<double>(std::max<size_t>(data.units.size(), 1));
  for (size_t r = 0; r < p.y.size(); ++r) p.weight.push_back(scale / static_cast<double>(count[p.unit[r]]));
  return p;
}

size_t rows_per_unit(size_t max_rows, size_t units) {
  return std::clamp<size_t>(max_rows / std::max<size_t>(units, 1), 20, 400);
}

}  // namespace

Result<RulModel> RulModel::train(const RunDataset& data, const RulTrainOptions& options, ThreadPool& pool,
                                 RulTrainReport* report) {
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
  const bool use_gbt = options.family != RulFamily::kNeural;
  const bool use_nn = options.family != RulFamily::kGbt;

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
  std::vector<UnitSignals> signals;
  for (const Unit& u : train_data.units) signals.push_back(model.signals(train_data, u));

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
  auto split = [&](const Positions& pos, int m, std::vector<uint32_t>& tr, std::vector<uint32_t>& va) {
    for (size_t r = 0; r < pos.y.size(); ++r) (fold[pos.unit[r]] == m ? va : tr).push_back(static_cast<uint32_t>(r));
  };

  size_t rows = 0;
  std::vector<GbtTrainInfo> infos;
  if (use_gbt) {
    const Positions pos = sample_positions(train_data, rows_per_unit(options.max_train_rows, n_train), options.rul_cap);
    rows = pos.y.size();
    std::vector<double> x(rows * width);
    for (size_t r = 0; r < rows; ++r) wf.compute(signals[pos.unit[r]], {pos.cycle[r]}, x.data() + r * width);
    FeatureBinner binner = FeatureBinner::fit(x.data(), rows, width, options.gbt.max_bins);
    BinnedMatrix bins = binner.transform(x.data(), rows);
    std::vector<Result<GbtModel>> trained(members, Result<GbtModel>(fail("not trained")));
    infos.resize(members);
    auto train_member = [&](int m, ThreadPool* inner) {
      std::vector<uint32_t> tr, va;
      split(pos, m, tr, va);
      GbtOptions o = options.gbt;
      o.seed = mix_seed(options.seed * 1000003ull + static_cast<uint64_t>(m));
      trained[m] = GbtModel::train(bins, binner, pos.y, pos.weight, tr, va, o, inner, &infos[m]);
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
  }

  std::vector<SequenceTrainInfo> net_infos;
  size_t nn_rows = 0;
  if (use_nn) {
    OFFICINA_TRY(model.sequence_, SequenceWindow::fit(signals, k, data.setting_count(), options.feature_groups,
                                                      options.window));
    const Positions pos = sample_positions(train_data, rows_per_unit(options.max_nn_rows, n_train), options.rul_cap);
    SequenceRows seq;
    seq.window = model.sequence_.window();
    seq.channels = model.sequence_.channels();
    seq.scalars = model.sequence_.scalars();
    nn_rows = pos.y.size();
    seq.x.resize(nn_rows * seq.window * seq.channels);
    seq.s.resize(nn_rows * seq.scalars + 1);
    for (size_t r = 0; r < nn_rows; ++r) {
      model.sequence_.window(signals[pos.unit[r]], pos.cycle[r], seq.x.data() + r * seq.window * seq.channels,
                             seq.s.data() + r * seq.scalars);
    }
    seq.y = pos.y;
    seq.w = pos.weight;
    // The GEMM runs on one thread at a time: members train one after another.
    for (int m = 0; m < members; ++m) {
      std::vector<uint32_t> tr, va;
      split(pos, m, tr, va);
      SequenceNetOptions o = options.nn;
      o.seed = mix_seed(options.seed * 7000003ull + static_cast<uint64_t>(m));
      SequenceTrainInfo info;
      OFFICINA_TRY(SequenceNet net, SequenceNet::train(seq, tr, va, o, &info));
      model.nets_.push_back(std::move(net));
      net_infos.push_back(info);
    }
  }

  // Calibration on truncated held-out units, like the test sets.
  std::vector<double> pred, truth, feat;
  for (size_t u : cal_units) {
    const Unit& unit = data.units[u];
    UnitSignals sig = model.signals(data, unit);
    const size_t len = unit.length(), lo = std::min(options.min_test_cycles, len);
    for (int p = 0; p < options.calibration_points; ++p) {
      size_t cut = lo + static_cast<size_t>(rng.uniform() * static_cast<double>(len - lo + 1));
      cut = std::min(cut, len);
      pred.push_back(model.predict_at(wf, sig, cut - 1, feat));
      truth.push_back(static_cast<double>(unit.cycles.back() - unit.cycles[cut - 1]));
    }
  }
  OFFICINA_TRY(model.conformal_, ConformalCalibrator::fit(pred, truth, options.coverage));
  if (report) {
    report->train_units = n_train;
    report->calibration_units = n_cal;
    report->rows = rows;
    report->nn_rows = nn_rows;
    report->features = width;
    report->members = infos;
    report->nets = net_infos;
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
  std::vector<double> feat, contributions;
  for (const Unit& unit : data.units) {
    UnitSignals sig = signals(data, unit);
    const size_t t = unit.length() - 1;
    UnitPrediction p;
    p.unit = unit.id;
    p.cycles = unit.length();
    p.rul = predict_at(wf, sig, t, feat);
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
