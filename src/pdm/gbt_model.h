// Gradient-boosted regression trees (weighted squared loss) on histogram-binned
// features: each round fits a RegressionTree to the residuals of a seeded
// random subsample of the training rows (`subsample`) using a seeded random
// subset of the features (`colsample`). With validation rows, training stops
// when the validation RMSE has not improved for `early_stopping` rounds and
// the model keeps the trees up to the best round.
//
// The same options, data and seed give the same model on every run and
// thread count. Predictions use real-valued thresholds, so a model read back
// from JSON predicts exactly what the trained one did.
//
// Shapes: feature rows are [n, features] row-major.
// Thread-safety: train() uses the pool it is given (may be null); predict()
// is const and safe to call concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"
#include "base/thread_pool.h"
#include "pdm/feature_binner.h"
#include "pdm/regression_tree.h"

namespace officina::pdm {

struct GbtOptions {
  int max_trees = 500;
  TreeOptions tree;
  double subsample = 0.7;
  double colsample = 0.8;
  int max_bins = 64;
  int early_stopping = 40;  // rounds without improvement; 0 = off
  uint64_t seed = 1;
};

struct GbtTrainInfo {
  int rounds = 0;       // trees kept
  int best_round = 0;   // 1-based round with the lowest validation RMSE
  double train_rmse = 0;
  double validation_rmse = 0;  // 0 without validation rows
};

class GbtModel {
 public:
  // Trains on the rows `train` of the binned matrix with targets y and
  // weights w (indexed by row; empty w = all 1); `validation` (may be empty)
  // drives early stopping with the weighted RMSE. Fails when `train` is empty.
  static Result<GbtModel> train(const BinnedMatrix& bins, const FeatureBinner& binner, const std::vector<double>& y,
                                const std::vector<double>& w, const std::vector<uint32_t>& train,
                                const std::vector<uint32_t>& validation, const GbtOptions& options, ThreadPool* pool,
                                GbtTrainInfo* info = nullptr);

  double predict(const double* row) const;
  size_t features() const { return features_; }
  size_t trees() const { return trees_.size(); }

  Json to_json() const;
  static Result<GbtModel> from_json(const Json& json, std::string_view where);

 private:
  size_t features_ = 0;
  double base_ = 0;
  std::vector<RegressionTree> trees_;
};

}  // namespace officina::pdm
