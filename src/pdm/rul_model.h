// Remaining-useful-life model: the whole pipeline from raw sensor histories
// to a point prediction with a calibrated interval, and the anomaly alarms
// that come with it.
//
// Training (train()):
//  1. units are split by unit, seeded: `calibration_fraction` of them are
//     held out for the conformal intervals, the rest train the regressors;
//  2. Preprocessor (sensor selection, regimes, robust normalisation,
//     smoothing) and HealthModel (health index, alarm thresholds) are fit on
//     the training units;
//  3. window features at evenly strided cycles of each training unit (about
//     the same number per unit, `max_train_rows` in all, 20 to 400 per unit),
//     target min(cap, cycles to failure) (cap 0 = none; with a cap, a
//     piecewise-linear target that is flat while the unit is young);
//  4. family gbt: one GbtModel, early-stopped on `validation_fraction` of the
//     training units; family nn: one SequenceNet (a 1D CNN over the last
//     `window` cycles, trained with AdamW) on its own strided rows (at most
//     `max_nn_rows`), early-stopped the same way; family ensemble: `members`
//     GBTs and `members` networks, member m of each family leaving out fold
//     m of the training units for its early stopping, with its own seed; the
//     prediction is the mean of the two families' means;
//  5. ConformalCalibrator on `calibration_points` random truncations of each
//     calibration unit (at least min(31, length) cycles, as in test sets),
//     scored against the true (uncapped) RUL.
//
// Prediction (predict()) scores each unit at its last cycle; drivers are the
// sensors that contribute most to its health index there (none when the
// index is within the healthy range, below the alarm's `off` threshold).
//
// The same data, options and seed give the same model for any thread count.
// Thread-safety: train() uses the given pool; const methods are safe to call
// concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "pdm/conformal.h"
#include "pdm/gbt_model.h"
#include "pdm/health_model.h"
#include "pdm/preprocessor.h"
#include "pdm/run_dataset.h"
#include "pdm/sequence_net.h"
#include "pdm/sequence_window.h"
#include "pdm/window_features.h"

namespace officina::pdm {

enum class RulFamily { kGbt, kEnsemble, kNeural };

// "gbt", "nn", "ensemble".
Result<RulFamily> parse_rul_family(std::string_view name);
std::string_view rul_family_name(RulFamily family);

struct RulTrainOptions {
  RulFamily family = RulFamily::kGbt;
  double rul_cap = 125;  // 0 = no cap
  uint64_t seed = 1;
  int members = 5;  // ensemble size
  double calibration_fraction = 0.2;
  double validation_fraction = 0.2;
  double coverage = 0.9;
  int calibration_points = 20;
  size_t min_test_cycles = 31;
  size_t max_train_rows = 60000;
  size_t max_nn_rows = 20000;
  size_t window = 30;  // cycles the network sees
  uint32_t feature_groups = kAllFeatureGroups;
  GbtOptions gbt;
  SequenceNetOptions nn;
  PreprocessOptions preprocess;
  HealthOptions health;
};

struct RulTrainReport {
  size_t train_units = 0, calibration_units = 0, rows = 0, features = 0;
  std::vector<GbtTrainInfo> members;
  std::vector<SequenceTrainInfo> nets;
  size_t nn_rows = 0;
  std::vector<std::string> dropped_sensors;
  int regimes = 1;
};

struct UnitPrediction {
  int64_t unit = 0;
  size_t cycles = 0;
  double rul = 0, lo = 0, hi = 0;
  double health_index = 0;
  std::vector<std::string> drivers;
};

class RulModel {
 public:
  // Fails on a dataset with fewer than 3 units
  // (train, validate, calibrate), or when preprocessing finds no usable sensor.
  static Result<RulModel> train(const RunDataset& data, const RulTrainOptions& options, ThreadPool& pool,
                                RulTrainReport* report = nullptr);

  // One prediction per unit, in file order. Fails when the columns do not
  // match the training data.
  Result<std::vector<UnitPrediction>> predict(const RunDataset& data) const;
  // Every alarm of every unit, units in file order.
  Result<std::vector<Alarm>> anomalies(const RunDataset& data) const;

  // Writes DIR/manifest.json and DIR/model.json (created or replaced);
  // "DIR: reason" on failure.
  Result<void> save(const std::string& dir) const;
  // Reads what save() wrote; errors name the file and field, and a newer
  // format version is refused.
  static Result<RulModel> load(const std::string& dir);

  RulFamily family() const { return family_; }
  double rul_cap() const { return rul_cap_; }
  const Preprocessor& preprocessor() const { return preprocess_; }
  const HealthModel& health() const { return health_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  std::vector<std::string> sensor_names() const { return preprocess_.kept_names(); }
  // Health signals of one unit (normalised, smoothed, health index, settings).
  UnitSignals signals(const RunDataset& data, const Unit& unit) const;

  // 2: the neural family; ensembles hold trees and networks.
  static constexpr int kFormatVersion = 2;

 private:
  // The model's RUL at cycle index t of a unit (features is scratch of
  // the feature count).
  double predict_at(const WindowFeatures& wf, const UnitSignals& sig, size_t t, std::vector<double>& features) const;

  RulFamily family_ = RulFamily::kGbt;
  double rul_cap_ = 0;
  uint64_t seed_ = 0;
  uint32_t feature_groups_ = kAllFeatureGroups;
  Preprocessor preprocess_;
  HealthModel health_;
  std::vector<std::string> feature_names_;
  std::vector<std::string> setting_names_;
  std::vector<GbtModel> members_;
  SequenceWindow sequence_;
  std::vector<SequenceNet> nets_;
  ConformalCalibrator conformal_;
};

}  // namespace officina::pdm
