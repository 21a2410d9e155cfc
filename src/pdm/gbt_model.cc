#include "pdm/gbt_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/random.h"

namespace officina::pdm {

Result<GbtModel> GbtModel::train(const BinnedMatrix& bins, const FeatureBinner& binner, const std::vector<double>& y,
                                 const std::vector<double>& w, const std::vector<uint32_t>& train,
                                 const std::vector<uint32_t>& validation, const GbtOptions& options, ThreadPool* pool,
                                 GbtTrainInfo* info) {
  if (train.empty()) return fail("gradient boosting: no training rows");
  const std::vector<double> weight = w.empty() ? std::vector<double>(bins.rows, 1.0) : w;
  GbtModel model;
  model.features_ = bins.features;
  double weight_sum = 0;
  for (uint32_t r : train) model.base_ += weight[r] * y[r], weight_sum += weight[r];
  model.base_ /= weight_sum;

  std::vector<double> pred(bins.rows, model.base_), grad(bins.rows, 0.0);
  Rng rng(mix_seed(options.seed ^ 0x6b7ee5ull));
  TreeBuilder builder(bins, binner, options.tree, pool);
  std::vector<uint32_t> all_features(bins.features);
  std::iota(all_features.begin(), all_features.end(), 0u);
  const size_t sample_rows = std::max<size_t>(1, static_cast<size_t>(options.subsample * static_cast<double>(train.size())));
  const size_t sample_features =
      std::max<size_t>(1, static_cast<size_t>(std::ceil(options.colsample * static_cast<double>(bins.features))));

  auto rmse = [&](const std::vector<uint32_t>& rows) {
    double s = 0, ws = 0;
    for (uint32_t r : rows) s += weight[r] * (pred[r] - y[r]) * (pred[r] - y[r]), ws += weight[r];
    return ws > 0 ? std::sqrt(s / ws) : 0.0;
  };
  double best = std::numeric_limits<double>::infinity();
  int best_round = 0;
  std::vector<uint32_t> sample = train, features = all_features;
  for (int round = 1; round <= options.max_trees; ++round) {
    // Partial Fisher-Yates: the first sample_rows entries become a uniform sample.
    sample = train;
    for (size_t i = 0; i < sample_rows && i + 1 < sample.size(); ++i) {
      size_t j = i + static_cast<size_t>(rng.uniform() * static_cast<double>(sample.size() - i));
      std::swap(sample[i], sample[j]);
    }
    sample.resize(sample_rows);
    features = all_features;
    for (size_t i = 0; i < sample_features && i + 1 < features.size(); ++i) {
      size_t j = i + static_cast<size_t>(rng.uniform() * static_cast<double>(features.size() - i));
      std::swap(features[i], features[j]);
    }
    features.resize(sample_features);
    std::sort(features.begin(), features.end());
    for (uint32_t r : sample) grad[r] = weight[r] * (pred[r] - y[r]);
    RegressionTree tree = builder.grow(sample, grad, weight, features);
    for (uint32_t r : train) pred[r] += tree.predict_binned(bins, r);
    for (uint32_t r : validation) pred[r] += tree.predict_binned(bins, r);
    model.trees_.push_back(std::move(tree));
    if (!validation.empty()) {
      double v = rmse(validation);
      if (v < best - 1e-12) {
        best = v;
        best_round = round;
      } else if (options.early_stopping > 0 && round - best_round >= options.early_stopping) {
        break;
      }
    }
  }
  if (!validation.empty() && best_round > 0) model.trees_.resize(static_cast<size_t>(best_round));
  if (info) {
    info->rounds = static_cast<int>(model.trees_.size());
    info->best_round = validation.empty() ? info->rounds : best_round;
    info->validation_rmse = validation.empty() ? 0 : best;
    // Recomputed for the kept trees: the last rounds may have been dropped.
    double s = 0;
    for (uint32_t r : train) {
      double p = model.base_;
      for (const RegressionTree& t : model.trees_) p += t.predict_binned(bins, r);
      s += weight[r] * (p - y[r]) * (p - y[r]);
    }
    info->train_rmse = std::sqrt(s / weight_sum);
  }
  return model;
}

double GbtModel::predict(const double* row) const {
  double p = base_;
  for (const RegressionTree& t : trees_) p += t.predict(row);
  return p;
}

Json GbtModel::to_json() const {
  Json trees = Json::array();
  for (const RegressionTree& t : trees_) trees.push_back(t.to_json());
  return {{"features", features_}, {"base", base_}, {"trees", std::move(trees)}};
}

Result<GbtModel> GbtModel::from_json(const Json& json, std::string_view where) {
  GbtModel m;
  if (!json.is_object() || !json.contains("trees") || !json["trees"].is_array()) {
    return fail("{}: a boosted model needs 'features', 'base' and 'trees'", where);
  }
  OFFICINA_TRY(int64_t features, json_int(json, "features", where));
  OFFICINA_TRY(m.base_, json_number(json, "base", where));
  if (features < 1) return fail("{}: 'features' must be positive", where);
  m.features_ = static_cast<size_t>(features);
  for (size_t i = 0; i < json["trees"].size(); ++i) {
    OFFICINA_TRY(RegressionTree t, RegressionTree::from_json(json["trees"][i], m.features_,
                                                             std::string(where) + ": trees[" + std::to_string(i) + "]"));
    m.trees_.push_back(std::move(t));
  }
  return m;
}

}  // namespace officina::pdm
